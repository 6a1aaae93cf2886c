import { createHash } from 'node:crypto';
import type { RedisClient } from '../../kernel/clients/redis.js';
import type { AppConfig } from '../../config/index.js';
import { RateLimitedError } from '../../kernel/errors.js';
import type { RateLimiter } from '../../kernel/rate-limiter.js';

/**
 * Brute-force limits on password checks (login, and the current password of a password change).
 *
 * Every attempt is counted *before* the password is checked (so parallel requests cannot race past
 * a limit) against three fixed windows of `loginWindowSec`:
 *  1. per (account, client IP): `loginFailuresPerAccount` — the account lockout. It locks only the
 *     IP that failed, so an attacker elsewhere cannot lock the owner out;
 *  2. per client IP, any account: `loginFailuresPerIp` — stops spraying many accounts from one IP;
 *  3. per account, from IPs that never logged in to it successfully: `loginFailuresPerAccountUnknownIps`
 *     — stops guessing one account from many IPs. IPs with a successful login in the last
 *     `knownIpTtlSec` are exempt, so this lock, too, cannot shut out an owner on a known network.
 * A success takes its own attempt back from (2) and (3) and clears (1). Windows never extend, so every
 * lock expires by itself, and a password reset clears the account's counters for the resetting IP.
 * Accounts that do not exist are keyed by their identifier and behave exactly like real ones.
 */
export interface LoginThrottle {
  /** Counts one attempt; throws RateLimitedError (429, Retry-After) when a limit is passed. */
  attempt(input: { accountKey: string; userId?: string; ip: string }): Promise<LoginAttempt>;
  /** After a password reset: clears the account's distributed counter and its lock for the resetting IP. */
  clearAccount(accountKey: string, ip: string): Promise<void>;
}

/** One counted attempt; `succeeded` takes it back once the password proved right. */
export interface LoginAttempt {
  succeeded(userId: string): Promise<void>;
}

const digest = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 22);

/** The counter key of an account: its id when it exists, else a digest of the identifier given. */
export function accountKey(user: { id: string } | null, identifier: string): string {
  return user ? `u:${user.id}` : `i:${digest(identifier.toLowerCase())}`;
}

export function createLoginThrottle(limiter: RateLimiter, redis: RedisClient, rules: AppConfig['auth']['rateLimits']): LoginThrottle {
  const windowSec = rules.loginWindowSec;
  const ipKey = (ip: string) => `login:ip:${digest(ip)}`;
  const accountIpKey = (account: string, ip: string) => `login:acct-ip:${account}:${digest(ip)}`;
  const unknownKey = (account: string) => `login:acct-unknown:${account}`;
  const knownIpsKey = (userId: string) => `login:known-ips:${userId}`;

  async function isKnown(userId: string | undefined, ip: string): Promise<boolean> {
    if (!userId) return false;
    const since = await redis.zscore(knownIpsKey(userId), digest(ip));
    return since !== null && Number(since) > Date.now() - rules.knownIpTtlSec * 1000;
  }

  return {
    async attempt({ accountKey: account, userId, ip }) {
      const known = await isKnown(userId, ip);
      const checks = [
        limiter.hit(accountIpKey(account, ip), { limit: rules.loginFailuresPerAccount, windowSec }),
        limiter.hit(ipKey(ip), { limit: rules.loginFailuresPerIp, windowSec }),
      ];
      if (!known) checks.push(limiter.hit(unknownKey(account), { limit: rules.loginFailuresPerAccountUnknownIps, windowSec }));
      const blocked = (await Promise.all(checks)).filter((r) => !r.allowed);
      if (blocked.length > 0) {
        throw new RateLimitedError(Math.max(...blocked.map((r) => r.retryAfterSec || windowSec)), 'Too many failed attempts; try again later');
      }
      return {
        async succeeded(provenUserId) {
          await Promise.all([
            limiter.undo(ipKey(ip)),
            known ? Promise.resolve() : limiter.undo(unknownKey(account)),
            limiter.reset(accountIpKey(account, ip)),
            redis
              .multi()
              .zadd(knownIpsKey(provenUserId), Date.now(), digest(ip))
              .zremrangebyscore(knownIpsKey(provenUserId), 0, Date.now() - rules.knownIpTtlSec * 1000)
              .expire(knownIpsKey(provenUserId), rules.knownIpTtlSec)
              .exec(),
          ]);
        },
      };
    },

    async clearAccount(account, ip) {
      await limiter.reset(unknownKey(account), accountIpKey(account, ip));
    },
  };
}
