import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { io } from 'socket.io-client';
import type { AppConfig } from '../../config/index.js';
import { defineSqlModels, type SqlModels } from '../../models/sql/index.js';
import { freePort } from '../../scripts/services/index.js';
import { startKafka } from '../../scripts/services/kafka.js';
import { startRedis, type RestartableService } from '../../scripts/services/redis.js';
import { startRedisCluster, type RedisClusterService } from '../../scripts/services/redis-cluster.js';
import { createRedis } from '../../kernel/clients/redis.js';
import { createAccessTokens, type AccessTokens } from '../../src/auth/access-tokens.js';
import { createTokenRevocation } from '../../src/auth/token-revocation.js';
import { createRefreshTokenStore, type RefreshTokenStore } from '../../src/auth/refresh-token-store.js';
import { runMigrate } from '../../src/cli/migrate-command.js';
import { GATEWAY_GROUP } from '../../src/notifications/analysis-status-consumer.js';
import { createSequelize } from '../../kernel/clients/mariadb.js';
import { WORKER_GROUP } from '../../workers/worker-app.js';
import type { NotificationEnvelope, ServerNotice } from '../../kernel/contracts/socket-events.js';
import { envFor, spawnApp, type AppProcess } from './processes.js';
import { dropNamespace, testConfig, testLogger, uniqueNamespace } from './test-app.js';
import { redisMode } from './services.js';
import type { UserSocket } from './socket-client.js';
import { waitUntil } from '../../kernel/wait.js';

export interface ApiProcess extends AppProcess {
  url: string;
  instanceId: string;
}

export interface Cluster {
  config: AppConfig;
  apis: ApiProcess[];
  workers: AppProcess[];
  /**
   * A Redis (one server, or a Redis Cluster with `redis: 'cluster'`) and a Kafka of the cluster's
   * own, so they can be restarted without disturbing other tests. `redis.stop()`/`start()` stop
   * and start all of it.
   */
  redis: Pick<RestartableService, 'start' | 'stop'>;
  /** The Redis Cluster, when the cluster runs on one (kill and restart single nodes). */
  redisCluster?: RedisClusterService;
  kafka: RestartableService;
  /** What tests need to make users and tokens (and sessions: refresh-token families) without going through the API. */
  users: { sql: SqlModels; accessTokens: AccessTokens; refreshTokens: RefreshTokenStore };
  startApi(index: number): Promise<ApiProcess>;
  stop(): Promise<void>;
}

async function ready(url: string, timeoutMs: number): Promise<void> {
  await waitUntil(`${url}/readyz`, async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, timeoutMs);
}

/**
 * Several API processes and worker processes on real services, as production runs them: each its
 * own Node process, sharing MariaDB, MongoDB, Kafka and a Redis the cluster owns.
 */
export async function startCluster(options: {
  apis: number;
  workers: number;
  env?: Record<string, string>;
  /** One Redis server, or a Redis Cluster (3 primaries, 3 replicas; sharded pub/sub); default from TEST_REDIS. */
  redis?: 'single' | 'cluster';
}): Promise<Cluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cluster-services-'));
  for (const sub of ['redis', 'kafka']) mkdirSync(path.join(dir, sub));
  const onCluster = (options.redis ?? redisMode()) === 'cluster';
  const [redis, broker] = await Promise.all([
    onCluster ? startRedisCluster(path.join(dir, 'redis'), dir) : freePort().then((port) => startRedis(path.join(dir, 'redis'), port, dir)),
    freePort().then((port) => startKafka(path.join(dir, 'kafka'), port, dir)),
  ]);
  const redisEnv: Record<string, string> =
    'nodes' in redis ? { REDIS_CLUSTER_NODES: redis.nodes.join(','), APP__REALTIME__SHARDED_PUB_SUB: 'true' } : { REDIS_URL: redis.url };
  const config = testConfig(uniqueNamespace('cluster'), {}, { ...redisEnv, KAFKA_BROKERS: broker.url });
  await runMigrate(config, testLogger(config), 'up');

  const sequelize = createSequelize(config);
  const tokenRedis = createRedis(config, testLogger(config), 'cluster-harness');
  const accessTokens = createAccessTokens(config.auth.jwt, createTokenRevocation(tokenRedis, { accessTtlSec: 900 }));
  const ports = await Promise.all(Array.from({ length: options.apis }, () => freePort()));
  const baseEnv = {
    APP__KAFKA__SESSION_TIMEOUT_MS: '6000',
    APP__KAFKA__PARTITIONS: '6',
    APP__REALTIME__ACK_TIMEOUT_MS: '1000',
    APP__REALTIME__REDELIVER_INTERVAL_MS: '500',
    APP__REALTIME__ACTIVITY_INTERVAL_MS: '1000',
    APP__HTTP__SHUTDOWN_GRACE_MS: '2000',
    METRICS_PORT: '0',
    ...(onCluster ? { APP__REALTIME__SHARDED_PUB_SUB: 'true' } : {}),
    ...options.env,
  };

  const apis: ApiProcess[] = [];
  const startApi = async (i: number): Promise<ApiProcess> => {
    const instanceId = `api-${i + 1}`;
    const proc = spawnApp(instanceId, 'api', envFor(config, { ...baseEnv, PORT: String(ports[i]), INSTANCE_ID: instanceId }));
    const api = Object.assign(proc, { url: `http://127.0.0.1:${ports[i]}`, instanceId });
    apis[i] = api;
    await ready(api.url, 60_000);
    return api;
  };
  await Promise.all(Array.from({ length: options.apis }, (_, i) => startApi(i)));
  const workers = Array.from({ length: options.workers }, (_, i) => spawnApp(`worker-${i + 1}`, 'worker', envFor(config, { ...baseEnv, INSTANCE_ID: `worker-${i + 1}` })));

  // Wait until both consumer groups have settled, so no rebalance is still pending when tests start.
  const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitUntil(
      'consumer groups stable',
      async () => {
        const { groups } = await admin.describeGroups([`${config.kafka.topicPrefix}${WORKER_GROUP}`, `${config.kafka.topicPrefix}${GATEWAY_GROUP}`]);
        return groups[0]?.state === 'Stable' && groups[0].members.length === options.workers && groups[1]?.state === 'Stable' && groups[1].members.length === options.apis;
      },
      90_000,
    );
  } finally {
    await admin.disconnect();
  }

  return {
    config,
    apis,
    workers,
    redis,
    ...('nodes' in redis ? { redisCluster: redis } : {}),
    kafka: broker,
    users: { sql: defineSqlModels(sequelize), accessTokens, refreshTokens: createRefreshTokenStore(tokenRedis, { ...config.auth.refresh, secret: config.auth.jwt.secret }) },
    startApi,
    async stop() {
      await Promise.all([...apis, ...workers].map((p) => p.stop()));
      tokenRedis.disconnect();
      await sequelize.close();
      await Promise.all([redis.stop(), broker.stop()]);
      await dropNamespace(config);
      if (!process.env.KEEP_TEST_DATA) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RoamingDevice {
  /** Deduplicated by id, in arrival order. */
  notifications: NotificationEnvelope[];
  /** When each of `notifications` arrived (ms). */
  receivedAtMs: number[];
  /** Every envelope handed to the device, duplicates included. */
  received: number;
  notices: ServerNotice[];
  /** URLs this device was connected to, in order. */
  connections: string[];
  connected(): boolean;
  lastSeq(): number;
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): void;
}

/**
 * A device behind a load balancer: when its connection drops it reconnects to the next instance
 * in the list, announcing the last sequence it saw, and deduplicates what it receives by id.
 */
export function roamingDevice(urls: string[], token: string, startAt = 0): Promise<RoamingDevice> {
  const seen = new Set<string>();
  let socket: UserSocket | undefined;
  let index = startAt;
  let closed = false;
  const device: RoamingDevice = {
    notifications: [],
    receivedAtMs: [],
    received: 0,
    notices: [],
    connections: [],
    connected: () => Boolean(socket?.connected),
    lastSeq: () => device.notifications.reduce((max, n) => Math.max(max, n.seq), 0),
    waitFor: (what, check, timeoutMs = 30_000) => waitUntil(what, check, timeoutMs),
    close: () => {
      closed = true;
      socket?.disconnect();
    },
  };
  return new Promise((resolve) => {
    const connect = () => {
      if (closed) return;
      const url = urls[index % urls.length]!;
      const s: UserSocket = io(url, { transports: ['websocket'], auth: { token, lastSeq: device.lastSeq() }, reconnection: false, forceNew: true });
      socket = s;
      const onNotification = (n: NotificationEnvelope, ack: (r?: { ok: true }) => void) => {
        device.received++;
        if (!seen.has(n.id)) {
          seen.add(n.id);
          device.notifications.push(n);
          device.receivedAtMs.push(Date.now());
        }
        ack({ ok: true });
      };
      s.on('analysis:status', onNotification as never);
      s.on('notification', onNotification);
      s.on('server:notice', (notice) => device.notices.push(notice));
      s.once('connect', () => {
        device.connections.push(url);
        resolve(device);
      });
      const moveOn = () => {
        s.removeAllListeners();
        s.disconnect();
        index++;
        setTimeout(connect, 200);
      };
      s.once('connect_error', moveOn);
      s.once('disconnect', (reason) => {
        if (reason !== 'io client disconnect') moveOn();
      });
    };
    connect();
  });
}
