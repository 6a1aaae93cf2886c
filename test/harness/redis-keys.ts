import { Cluster } from 'ioredis';
import type { RedisClient } from '../../kernel/clients/redis.js';

/**
 * The keys matching `pattern` (full names, prefix included) on a single Redis or on every primary
 * of a Redis Cluster (KEYS on a cluster client asks one node only).
 */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  if (!(redis instanceof Cluster)) return redis.keys(pattern);
  const perNode = await Promise.all(redis.nodes('master').map((node) => node.keys(pattern)));
  return perNode.flat();
}

/** Deletes the keys under `prefix` through a client that itself prefixes with it (one DEL per key: they span slots). */
export async function deletePrefixed(redis: RedisClient, prefix: string): Promise<void> {
  const keys = await keysMatching(redis, `${prefix}*`);
  await Promise.all(keys.map((k) => redis.del(k.slice(prefix.length))));
}
