import { Cluster, Redis, type ChainableCommander } from 'ioredis';
import type { AppConfig } from '../../config/index.js';
import { backoffDelay } from '../backoff.js';
import type { Logger } from '../logger.js';

/**
 * The one Redis client type the modules take: a single server or a Redis Cluster, chosen by
 * config (`redis.clusterNodes`). Both speak the same commands; on a cluster every multi-key
 * command, MULTI and Lua script must touch keys of one hash slot, which is why the keys of one
 * user share the hash tag `redisUserTag(userId)` (see the stores in src/auth).
 */
export type RedisClient = Redis | Cluster;

/** The hash tag that puts every key of one user in one cluster slot: `{u:<id>}`. */
export const redisUserTag = (userId: string): string => `{u:${userId}}`;

/**
 * Retries forever with capped backoff, so a Redis restart (or a cluster failover) is a blip, not a
 * crash. Commands issued while disconnected fail after two retries instead of queueing without
 * bound. Keys are prefixed with `redis.keyPrefix` unless `prefixed` is false (the Socket.IO
 * adapter's pub/sub clients carry their own channel prefix).
 *
 * With `redis.clusterNodes` the client is an ioredis `Cluster`: the prefix has no braces (the
 * schema checks it), so a key's hash tag is still the first `{...}` after it. Its topology is
 * read again every second, so a promoted replica is found even when no MOVED points to it, and
 * the subscriber connection follows sharded channels (SSUBSCRIBE) to the primary of each slot.
 */
export function createRedis(config: Pick<AppConfig, 'redis'>, log: Logger, name: string, options: { prefixed?: boolean } = {}): RedisClient {
  const prefixed = options.prefixed !== false;
  // Command clients send what is issued in one tick as one pipeline (one write instead of one per
  // command: a burst of connects checks revocation together); the adapter's pub/sub ones do not.
  const commandOptions = prefixed ? { keyPrefix: config.redis.keyPrefix, enableAutoPipelining: true } : {};
  const retry = (times: number) => backoffDelay(times, { baseMs: 100, maxMs: 2_000, jitter: 'none' });
  const nodes = config.redis.clusterNodes;
  const client: RedisClient =
    nodes.length > 0
      ? new Cluster(
          nodes.map((hostPort) => {
            const at = hostPort.lastIndexOf(':');
            return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
          }),
          {
            ...commandOptions,
            lazyConnect: true,
            enableOfflineQueue: true,
            clusterRetryStrategy: retry,
            slotsRefreshInterval: 1_000,
            // Commands to slots whose primary just died are retried (CLUSTERDOWN, TRYAGAIN, a
            // closed connection) for about as long as a failover takes, then fail.
            retryDelayOnClusterDown: 200,
            retryDelayOnTryAgain: 200,
            retryDelayOnFailover: 200,
            maxRedirections: 24,
            shardedSubscribers: !prefixed,
            redisOptions: { connectionName: name, maxRetriesPerRequest: 2 },
          },
        )
      : new Redis(config.redis.url!, {
          connectionName: name,
          ...commandOptions,
          lazyConnect: true,
          maxRetriesPerRequest: 2,
          enableOfflineQueue: true,
          retryStrategy: retry,
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

/** How long a write that must survive a primary's death waits for a replica's acknowledgement. */
const REPLICA_ACK_MS = 100;

/**
 * Runs `commands` as one pipeline (on a cluster: to the node of their keys' slot, so they must share
 * one) and, on a cluster, ends it with `WAIT 1`: Redis replicates asynchronously, and a write a
 * client was told about (a refresh token handed out) must not vanish when its primary dies right
 * after and a replica that never saw it takes over. Without a replica in sync the wait gives up
 * after REPLICA_ACK_MS and the write stands on the primary alone. Returns the commands' results;
 * the first error among them is thrown.
 */
export async function execReplicated(redis: RedisClient, commands: (pipeline: ChainableCommander) => ChainableCommander): Promise<unknown[]> {
  const onCluster = redis instanceof Cluster;
  const pipeline = commands(redis.pipeline());
  if (onCluster) pipeline.wait(1, REPLICA_ACK_MS);
  const results = (await pipeline.exec()) ?? [];
  const values = results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
  return onCluster ? values.slice(0, -1) : values;
}
