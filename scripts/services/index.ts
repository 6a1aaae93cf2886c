import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddingSidecar } from './embedding.js';
import { startKafka } from './kafka.js';
import { startMariaDb, type RunningService } from './mariadb.js';
import { startMongoWire, type MongoWireService } from './mongo.js';
import { freePort } from './process.js';
import { startRedis, type RestartableService } from './redis.js';
import { startRedisCluster, type RedisClusterService } from './redis-cluster.js';

export { freePort, startProcess, tcpOpen, waitFor } from './process.js';
export { EMBEDDING_MODEL, embeddingSidecarInstalled, startEmbeddingSidecar } from './embedding.js';
export type { RunningService } from './mariadb.js';
export type { RestartableService } from './redis.js';
export type { ClusterNode, RedisClusterService } from './redis-cluster.js';
export type { MongoWireService } from './mongo.js';

/** Connection strings of the four backing services, as the config's env aliases expect them. */
export interface ServiceUrls {
  MARIADB_URL: string;
  REDIS_URL: string;
  /** A Redis Cluster's nodes (host:port, comma-separated), when one was asked for. */
  REDIS_CLUSTER_NODES?: string;
  MONGO_URL: string;
  KAFKA_BROKERS: string;
  /** The embedding sidecar, when it was asked for. */
  EMBEDDING_URL?: string;
}

export interface LocalServices {
  urls: ServiceUrls;
  /** Only services this process started (those not given by *_URL variables). */
  started: {
    mariadb?: RunningService;
    redis?: RestartableService;
    redisCluster?: RedisClusterService;
    mongo?: MongoWireService;
    kafka?: RestartableService;
    embedding?: RunningService;
  };
  stop(): Promise<void>;
}

export interface LocalServicesOptions {
  /** Data and logs go under this directory (one sub-directory per service). */
  rootDir: string;
  /** Durable PostgreSQL settings (npm start keeps its data; tests trade durability for speed). */
  durable?: boolean;
  /** Fixed ports (npm start); free ports are picked when absent (tests). */
  ports?: Partial<Record<'mariadb' | 'redis' | 'mongo' | 'kafka' | 'embedding', number>>;
  /** Also start the embedding sidecar (the embedding and ensemble analyzers need it) unless EMBEDDING_URL is given. */
  embedding?: boolean;
  /** Also start a Redis Cluster (3 primaries, 3 replicas) unless REDIS_CLUSTER_NODES is given. */
  redisCluster?: boolean;
  /** Environment to read *_URL variables from; a service given there is not started (POSTGRES_URL: FerretDB runs on it). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts MariaDB, Redis, Kafka and a MongoDB-wire server (FerretDB on PostgreSQL, or mongod) as
 * child processes bound to 127.0.0.1,
 * in parallel, each waited for until it really answers. Services whose URL is already given in
 * the environment (CI service containers, docker compose) are used as they are.
 */
export async function startLocalServices(options: LocalServicesOptions): Promise<LocalServices> {
  const env = options.env ?? process.env;
  const logDir = path.join(options.rootDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const dir = (name: string) => {
    const d = path.join(options.rootDir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const port = async (name: keyof NonNullable<LocalServicesOptions['ports']>) => options.ports?.[name] ?? (await freePort());

  const started: LocalServices['started'] = {};
  const tasks: Array<Promise<unknown>> = [];
  if (!env.MARIADB_URL) tasks.push(port('mariadb').then((p) => startMariaDb(dir('mariadb'), p, logDir)).then((s) => (started.mariadb = s)));
  if (!env.REDIS_URL) tasks.push(port('redis').then((p) => startRedis(dir('redis'), p, logDir)).then((s) => (started.redis = s)));
  if (options.redisCluster && !env.REDIS_CLUSTER_NODES) tasks.push(startRedisCluster(dir('redis-cluster'), logDir).then((s) => (started.redisCluster = s)));
  if (!env.MONGO_URL) {
    const mongoOptions = { postgresUrl: env.POSTGRES_URL || undefined, postgres: { durable: options.durable } };
    tasks.push(port('mongo').then((p) => startMongoWire(dir('mongo'), p, logDir, mongoOptions)).then((s) => (started.mongo = s)));
  }
  if (options.embedding && !env.EMBEDDING_URL) {
    tasks.push(port('embedding').then((p) => startEmbeddingSidecar(dir('embedding'), p, logDir)).then((s) => (started.embedding = s)));
  }
  if (!env.KAFKA_BROKERS) tasks.push(port('kafka').then((p) => startKafka(dir('kafka'), p, logDir)).then((s) => (started.kafka = s)));

  const stop = async () => {
    await Promise.all(Object.values(started).map((s) => s.stop().catch(() => undefined)));
  };
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw new Error(`local services failed to start (logs in ${logDir}): ${String(failed.reason?.message ?? failed.reason)}`);
  }

  return {
    urls: {
      MARIADB_URL: env.MARIADB_URL ?? started.mariadb!.url,
      REDIS_URL: env.REDIS_URL ?? started.redis!.url,
      ...(options.redisCluster ? { REDIS_CLUSTER_NODES: env.REDIS_CLUSTER_NODES ?? started.redisCluster!.nodes.join(',') } : {}),
      MONGO_URL: env.MONGO_URL ?? started.mongo!.url,
      KAFKA_BROKERS: env.KAFKA_BROKERS ?? started.kafka!.url,
      ...(options.embedding ? { EMBEDDING_URL: env.EMBEDDING_URL ?? started.embedding!.url } : {}),
    },
    started,
    stop,
  };
}
