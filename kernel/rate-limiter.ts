import type { RedisClient } from './clients/redis.js';
import { RateLimitedError } from './errors.js';

/**
 * Fixed-window counters in Redis. A window starts at the first hit on a key and ends `windowSec`
 * later whatever happens in between, so a lockout always expires: hitting a locked key keeps
 * counting but never extends it. Every operation is one atomic script, so concurrent requests
 * cannot slip past the limit between a read and a write.
 */
export interface RateLimitRule {
  limit: number;
  windowSec: number;
}

export interface RateLimitState {
  /** Whether this hit stays within the limit. */
  allowed: boolean;
  count: number;
  /** Seconds until the window ends (0 when no window is open). */
  retryAfterSec: number;
}

export interface RateLimiter {
  /** Counts one event against `key`. */
  hit(key: string, rule: RateLimitRule): Promise<RateLimitState>;
  /** Takes one event back (an attempt that turned out fine), never below zero. */
  undo(key: string): Promise<void>;
  reset(...keys: string[]): Promise<void>;
  /** `hit`, throwing RateLimitedError (429 + Retry-After) once the limit is passed. */
  consume(key: string, rule: RateLimitRule, message?: string): Promise<void>;
}

const HIT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}`;

const UNDO = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return n`;

/** The scripts as ioredis commands: sent by SHA (EVALSHA), the text only when Redis does not have it yet. */
type LimiterCommands = {
  rateLimitHit(key: string, windowMs: string): Promise<[number, number]>;
  rateLimitUndo(key: string): Promise<number>;
};

function limiterCommands(redis: RedisClient): LimiterCommands {
  const client = redis as RedisClient & Partial<LimiterCommands>;
  if (!client.rateLimitHit) client.defineCommand('rateLimitHit', { numberOfKeys: 1, lua: HIT });
  if (!client.rateLimitUndo) client.defineCommand('rateLimitUndo', { numberOfKeys: 1, lua: UNDO });
  return client as RedisClient & LimiterCommands;
}

export function createRateLimiter(redis: RedisClient, namespace = 'rl'): RateLimiter {
  const fullKey = (key: string) => `${namespace}:${key}`;
  const commands = limiterCommands(redis);
  const state = (count: number, ttlMs: number, limit: number): RateLimitState => ({
    allowed: count <= limit,
    count,
    retryAfterSec: ttlMs > 0 ? Math.ceil(ttlMs / 1000) : 0,
  });

  const limiter: RateLimiter = {
    async hit(key, rule) {
      const [count, ttl] = await commands.rateLimitHit(fullKey(key), String(rule.windowSec * 1000));
      return state(count, ttl, rule.limit);
    },
    async undo(key) {
      await commands.rateLimitUndo(fullKey(key));
    },
    async reset(...keys) {
      // One DEL per key: the counters of one reset may sit in different cluster slots.
      await Promise.all(keys.map((key) => redis.del(fullKey(key))));
    },
    async consume(key, rule, message) {
      const result = await limiter.hit(key, rule);
      if (!result.allowed) throw new RateLimitedError(result.retryAfterSec || rule.windowSec, message);
    },
  };
  return limiter;
}
