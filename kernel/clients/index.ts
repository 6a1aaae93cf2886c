import type { Kafka } from 'kafkajs';
import type { RedisClient } from './redis.js';
import type { Connection } from 'mongoose';
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../../config/index.js';
import type { Logger } from '../logger.js';
import { createKafka } from './kafka.js';
import { createMailer, type Mailer } from './mailer.js';
import { createReplicaSequelize, createSequelize } from './mariadb.js';
import { connectMongo, watchMongoConnection } from './mongo.js';
import { createRedis } from './redis.js';

/** The connections of an API process, built once and handed to the modules that use them. */
export interface ApiClients {
  sequelize: Sequelize;
  /** The read-only replica (`mariadb.replica.url`), when configured; only stale-tolerant reads use it. */
  replica?: Sequelize;
  mongo: Connection;
  /** Commands, keys prefixed with `redis.keyPrefix`. */
  redis: RedisClient;
  /** The Socket.IO adapter's publish and subscribe connections (channels carry their own prefix). */
  pubsub: { pub: RedisClient; sub: RedisClient };
  kafka: Kafka;
  mailer: Mailer;
  /** Connects what connects lazily (Redis, MariaDB); Mongo is connected when built. */
  connect(): Promise<void>;
  close(): Promise<void>;
}

/** The connections of a worker process. */
export interface WorkerClients {
  mongo: Connection;
  kafka: Kafka;
  close(): Promise<void>;
}

export async function createApiClients(config: AppConfig, log: Logger, overrides: { mailer?: Mailer } = {}): Promise<ApiClients> {
  const mongo = await connectMongo(config);
  const mongoWatch = watchMongoConnection(mongo, config.mongo.url, log);
  const sequelize = createSequelize(config, log);
  const replica = createReplicaSequelize(config, log);
  const redis = createRedis(config, log, 'api');
  const pubsub = {
    pub: createRedis(config, log, 'socket.io-pub', { prefixed: false }),
    sub: createRedis(config, log, 'socket.io-sub', { prefixed: false }),
  };
  const kafka = createKafka(config, log);
  const mailer = overrides.mailer ?? createMailer(config, log);
  return {
    sequelize,
    replica,
    mongo,
    redis,
    pubsub,
    kafka,
    mailer,
    async connect() {
      await redis.connect();
      await sequelize.authenticate();
      // A replica that is away at start only means reads go to the primary until it is back.
      await replica?.authenticate().catch((err: unknown) => log.warn({ err }, 'mariadb replica not reachable at start; reading from the primary until it is'));
      // The adapter's first subscribe may already have started these (lazyConnect); they keep
      // retrying in the background when Redis is away at start.
      await Promise.all([pubsub.pub, pubsub.sub].map((c) => (c.status === 'wait' ? c.connect() : Promise.resolve()))).catch((err: unknown) =>
        log.warn({ err }, 'redis for socket.io not reachable at start; retrying in the background'),
      );
    },
    async close() {
      mailer.close();
      pubsub.pub.disconnect();
      pubsub.sub.disconnect();
      redis.disconnect();
      mongoWatch.stop();
      await mongo.close().catch(() => undefined);
      await sequelize.close().catch(() => undefined);
      await replica?.close().catch(() => undefined);
    },
  };
}

export async function createWorkerClients(config: AppConfig, log: Logger): Promise<WorkerClients> {
  const mongo = await connectMongo(config);
  const mongoWatch = watchMongoConnection(mongo, config.mongo.url, log);
  return {
    mongo,
    kafka: createKafka(config, log),
    async close() {
      mongoWatch.stop();
      await mongo.close().catch(() => undefined);
    },
  };
}
