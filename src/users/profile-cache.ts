import type { RedisClient } from '../../kernel/clients/redis.js';

/**
 * Read-through cache of a user's public profile (JSON in Redis with a TTL). Every write to an
 * account calls `invalidate`; the TTL only bounds the damage of a write that forgot to.
 */
export interface ProfileCache<T> {
  get(userId: string): Promise<T | null>;
  set(userId: string, profile: T): Promise<void>;
  invalidate(userId: string): Promise<void>;
}

const key = (userId: string) => `profile:${userId}`;

export function createProfileCache<T>(redis: RedisClient, ttlSec: number): ProfileCache<T> {
  return {
    async get(userId) {
      const raw = await redis.get(key(userId));
      return raw === null ? null : (JSON.parse(raw) as T);
    },
    async set(userId, profile) {
      await redis.set(key(userId), JSON.stringify(profile), 'EX', ttlSec);
    },
    async invalidate(userId) {
      await redis.del(key(userId));
    },
  };
}
