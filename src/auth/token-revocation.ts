import { redisUserTag, type RedisClient } from '../../kernel/clients/redis.js';

/**
 * Ends access for access tokens already issued, without a per-request database lookup:
 * - a per-user "not before" time (logout-all, password change or reset, block, deletion, role change);
 * - a per-session mark (logout or refresh-token reuse of one family), kept as long as an access token lives.
 * Both are checked with one MGET per authenticated request. Refresh tokens are not checked here:
 * a role change must keep sessions alive; ending them is `RefreshTokenStore.revokeAll` and its cutoff.
 */
export interface TokenRevocation {
  /** Every access token of the user issued at or before now stops working. */
  revokeUser(userId: string): Promise<void>;
  /** Every access token issued for this session (refresh-token family) of the user stops working. */
  revokeSession(userId: string, sessionId: string): Promise<void>;
  isRevoked(claims: { userId: string; sessionId: string; issuedAtMs: number }): Promise<boolean>;
}

// One user's marks share the user's hash tag, so the MGET below reads one cluster slot.
const userKey = (userId: string) => `auth:${redisUserTag(userId)}:not-before`;
const sessionKey = (userId: string, sessionId: string) => `auth:${redisUserTag(userId)}:revoked-session:${sessionId}`;

export function createTokenRevocation(redis: RedisClient, options: { accessTtlSec: number }): TokenRevocation {
  // Marks only need to outlive the access tokens they revoke.
  const userTtl = options.accessTtlSec + 60;
  const sessionTtl = options.accessTtlSec + 60;
  return {
    async revokeUser(userId) {
      const notBefore = Date.now();
      await redis.set(userKey(userId), String(notBefore), 'EX', userTtl);
      // Tokens issued right after this call (a new session after a password change) must carry a
      // later millisecond than the mark, or they would be born revoked.
      while (Date.now() <= notBefore) await new Promise((r) => setTimeout(r, 1));
    },
    async revokeSession(userId, sessionId) {
      await redis.set(sessionKey(userId, sessionId), '1', 'EX', sessionTtl);
    },
    async isRevoked({ userId, sessionId, issuedAtMs }) {
      const [notBefore, sessionRevoked] = await redis.mget(userKey(userId), sessionKey(userId, sessionId));
      if (sessionRevoked) return true;
      return notBefore !== null && issuedAtMs <= Number(notBefore);
    },
  };
}
