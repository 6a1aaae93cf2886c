import { Redis } from 'ioredis';
import type { AppConfig } from '../../config/index.js';
import { backoffDelay } from '../backoff.js';
import type { Logger } from '../logger.js';

/**
 * An ioredis client that retries forever with capped backoff, so a Redis restart is a blip,
 * not a crash. Commands issued while disconnected fail after two retries instead of queueing
 * without bound. Keys are prefixed with `redis.keyPrefix` unless `prefixed` is false (the
 * Socket.IO adapter's pub/sub clients carry their own channel prefix).
 */
export function createRedis(config: Pick<AppConfig, 'redis'>, log: Logger, name: string, options: { prefixed?: boolean } = {}): Redis {
  const client = new Redis(config.redis.url, {
    connectionName: name,
    // Command clients send what is issued in one tick as one pipeline (one write instead of one per
    // command: a burst of connects checks revocation together); the adapter's pub/sub ones do not.
    ...(options.prefixed === false ? {} : { keyPrefix: config.redis.keyPrefix, enableAutoPipelining: true }),
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => backoffDelay(times, { baseMs: 100, maxMs: 2_000, jitter: 'none' }),
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  });
  let lastError = '';
  client.on('error', (err: Error) => {
    // Redis down produces one error per retry; log each distinct one once.
    if (err.message !== lastError) log.warn({ err, client: name }, 'redis connection error');
    lastError = err.message;
  });
  client.on('ready', () => {
    if (lastError) log.info({ client: name }, 'redis connection restored');
    lastError = '';
  });
  return client;
}
