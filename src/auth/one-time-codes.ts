import { createHmac, randomInt } from 'node:crypto';
import type { RedisClient } from '../../kernel/clients/redis.js';

export type CodeCheck = 'ok' | 'invalid' | 'exhausted' | 'missing';

/**
 * Six-digit one-time codes (email verification, password reset) in Redis: one live code per
 * account and purpose, with a TTL and a bounded number of wrong attempts, after which the code is
 * burned and a new one must be requested. Only an HMAC of the code is stored (keyed with a server
 * secret, so a Redis dump does not give the codes away to a 10^6 brute force).
 */
export interface OneTimeCodes {
  issue(userId: string): Promise<string>;
  /**
   * A matching code is used up, unless `consume` is false: then it stays valid (for a request that
   * may still fail on something the caller can fix). Wrong codes count against the attempts either way.
   */
  check(userId: string, code: string, options?: { consume?: boolean }): Promise<CodeCheck>;
  discard(userId: string): Promise<void>;
}

// KEYS: code key. ARGV: presented hmac, max attempts, '1' to use up a matching code.
const CHECK = `
local stored = redis.call('HGET', KEYS[1], 'hmac')
if not stored then return 'missing' end
if stored == ARGV[1] then
  if ARGV[3] == '1' then redis.call('DEL', KEYS[1]) end
  return 'ok'
end
local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if n >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 'exhausted'
end
return 'invalid'`;

export function createOneTimeCodes(redis: RedisClient, options: { purpose: 'verify' | 'reset'; ttlSec: number; maxAttempts: number; secret: string }): OneTimeCodes {
  const key = (userId: string) => `otc:${options.purpose}:${userId}`;
  const mac = (userId: string, code: string) => createHmac('sha256', options.secret).update(`${options.purpose}:${userId}:${code}`).digest('hex');
  return {
    async issue(userId) {
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      await redis.multi().del(key(userId)).hset(key(userId), { hmac: mac(userId, code), attempts: '0' }).expire(key(userId), options.ttlSec).exec();
      return code;
    },
    async check(userId, code, { consume = true } = {}) {
      return (await redis.eval(CHECK, 1, key(userId), mac(userId, code), String(options.maxAttempts), consume ? '1' : '0')) as CodeCheck;
    },
    async discard(userId) {
      await redis.del(key(userId));
    },
  };
}
