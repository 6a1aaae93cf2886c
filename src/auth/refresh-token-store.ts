import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { execReplicated, redisUserTag, type RedisClient } from '../../kernel/clients/redis.js';
import type { LoginMethod } from './auth-events.js';

/**
 * Opaque refresh tokens in Redis, grouped in families (one per login = the `sid` of access tokens).
 * Only SHA-256 hashes are stored. A family has an absolute expiry fixed at login and a sliding
 * idle expiry renewed by every rotation. Every token that was ever current keeps pointing at its
 * family until the absolute expiry, so presenting one that was already rotated away is detected
 * as reuse (the caller then revokes the family).
 *
 * Grace for concurrent refreshes: for `reuseGraceSec` after an exchange, the tokens exchanged
 * in that window are remembered with the family's newest token, sealed (AES-256-GCM under a
 * server key, in a key that expires with the window); presenting one of them then answers with
 * that newest token instead of revoking the family. Two tabs refreshing with the same token end
 * up holding the same new one; after the window, reuse revokes the family as before.
 *
 * `revokeAll` also leaves a per-user cutoff: the session service refuses a family whose login read
 * the account at or before it, which ends a login that was in flight while `revokeAll` ran.
 *
 * Keys: everything of one user carries the user's hash tag `{u:<userId>}`, so on a Redis Cluster
 * the rotation script and the MULTIs below touch one slot:
 *       `rt:{u:<id>}:fam:<sid>` hash {userId, current, method, createdAt, authAt, absExp};
 *       `rt:{u:<id>}:sessions` set of sids; `rt:{u:<id>}:cutoff` → ms;
 *       `rt:{u:<id>}:grace:<sid>` → JSON {recent: [hashes exchanged in the window], sealed: newest token}.
 * The one key found by the token alone, `rt:tok:<sha256>` → `<sid>:<userId>`, lives wherever its
 * hash puts it; it is written *before* the family points at the new token, so a write lost
 * between the two leaves only a key for a token nobody was given.
 * (Deploy note: families stored under the pre-cluster keys `rt:fam:<sid>` are not read; their
 * users log in again once.)
 */
export interface RefreshFamily {
  sessionId: string;
  userId: string;
  method: LoginMethod;
  createdAtMs: number;
  /** When the login behind the family read the account it verified; `reissue` moves it to now. */
  authenticatedAtMs: number;
  absoluteExpiresAtMs: number;
}

export type RotateResult =
  | { kind: 'ok'; family: RefreshFamily; refreshToken: string }
  /** The token was exchanged moments ago (another tab): the family's newest token, not a new one. */
  | { kind: 'grace'; family: RefreshFamily; refreshToken: string }
  | { kind: 'reused'; family: RefreshFamily }
  | { kind: 'invalid' };

export interface RefreshTokenStore {
  create(userId: string, method: LoginMethod, authenticatedAtMs: number): Promise<{ family: RefreshFamily; refreshToken: string }>;
  /** Exchanges the current token of a family for a new one, atomically. */
  rotate(refreshToken: string): Promise<RotateResult>;
  /** A new current token for a live family without presenting the old one (after a password change), authenticated now. */
  reissue(userId: string, sessionId: string): Promise<string | null>;
  /** The live family a token (current or already rotated) belongs to. */
  familyOf(refreshToken: string): Promise<RefreshFamily | null>;
  get(userId: string, sessionId: string): Promise<RefreshFamily | null>;
  revoke(userId: string, sessionId: string): Promise<RefreshFamily | null>;
  /**
   * Revokes every live family of the user except `keep`, and raises the user's cutoff to now (`keep`
   * is below it too: reissue it). Returns the revoked session ids.
   */
  revokeAll(userId: string, keep?: string): Promise<string[]>;
  /** When `revokeAll` last ran for the user (null if not within a family's lifetime). */
  cutoff(userId: string): Promise<number | null>;
}

export const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const famKey = (userId: string, sid: string) => `rt:${redisUserTag(userId)}:fam:${sid}`;
const graceKey = (userId: string, sid: string) => `rt:${redisUserTag(userId)}:grace:${sid}`;
const sessionsKey = (userId: string) => `rt:${redisUserTag(userId)}:sessions`;
const cutoffKey = (userId: string) => `rt:${redisUserTag(userId)}:cutoff`;
const tokKey = (hash: string) => `rt:tok:${hash}`;
/** What a token key holds: the family's session id and user (a UUID has no colon). */
const tokValue = (sid: string, userId: string) => `${sid}:${userId}`;
function parseTokValue(value: string | null): { sessionId: string; userId: string } | null {
  const at = value?.indexOf(':') ?? -1;
  return value && at > 0 ? { sessionId: value.slice(0, at), userId: value.slice(at + 1) } : null;
}
const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = () => randomBytes(32).toString('base64url');

// KEYS: family, grace key (one user's tag). ARGV: expected current hash (or '' for a reissue,
// which skips the check and forgets the grace), new hash, now ms, sliding ms, grace ms, sealed new
// token. The new token's key is written by the caller before (it may live in another slot).
const ROTATE = `
local cur = redis.call('HGET', KEYS[1], 'current')
if not cur then return {'missing'} end
if ARGV[1] ~= '' and cur ~= ARGV[1] then
  local raw = redis.call('GET', KEYS[2])
  if raw then
    local grace = cjson.decode(raw)
    for _, h in ipairs(grace.recent) do
      if h == ARGV[1] then return {'grace', grace.sealed} end
    end
  end
  return {'reused'}
end
local left = tonumber(redis.call('HGET', KEYS[1], 'absExp')) - tonumber(ARGV[3])
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return {'missing'}
end
redis.call('HSET', KEYS[1], 'current', ARGV[2], 'rotatedAt', ARGV[3])
if ARGV[1] == '' then
  redis.call('HSET', KEYS[1], 'authAt', ARGV[3])
  redis.call('DEL', KEYS[2])
elseif tonumber(ARGV[5]) > 0 then
  local recent = {}
  local raw = redis.call('GET', KEYS[2])
  if raw then recent = cjson.decode(raw).recent end
  table.insert(recent, ARGV[1])
  if #recent > 5 then table.remove(recent, 1) end
  redis.call('SET', KEYS[2], cjson.encode({recent = recent, sealed = ARGV[6]}), 'PX', ARGV[5])
end
redis.call('PEXPIRE', KEYS[1], math.min(tonumber(ARGV[4]), left))
return {'ok'}`;

// KEYS: family, the user's sessions. ARGV: sid, family ttl ms, sessions ttl ms, then the family's fields and values.
const CREATE = `
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 0`;

// KEYS: cutoff key. ARGV: now ms, ttl ms. Only ever raised, whatever order concurrent calls land in.
const RAISE_CUTOFF = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 0`;

/** AES-256-GCM for the grace window's copy of the newest token (key from the server secret). */
function sealer(key: Buffer) {
  return {
    seal(token: string): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    },
    open(sealed: string): string | null {
      try {
        const raw = Buffer.from(sealed, 'base64url');
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch {
        return null;
      }
    },
  };
}

export function createRefreshTokenStore(redis: RedisClient, options: { ttlSec: number; absoluteTtlSec: number; reuseGraceSec?: number; secret: string }): RefreshTokenStore {
  const slidingMs = options.ttlSec * 1000;
  const absoluteMs = options.absoluteTtlSec * 1000;
  const graceMs = (options.reuseGraceSec ?? 0) * 1000;
  const sealed = sealer(createHash('sha256').update(`refresh-grace:${options.secret}`).digest());

  async function get(userId: string, sessionId: string): Promise<RefreshFamily | null> {
    const h = await redis.hgetall(famKey(userId, sessionId));
    if (h.userId !== userId || !h.absExp) return null;
    return {
      sessionId,
      userId: h.userId,
      method: (h.method ?? 'password') as LoginMethod,
      createdAtMs: Number(h.createdAt),
      authenticatedAtMs: Number(h.authAt ?? h.createdAt),
      absoluteExpiresAtMs: Number(h.absExp),
    };
  }

  async function familyRef(refreshToken: string): Promise<{ sessionId: string; userId: string } | null> {
    if (!REFRESH_TOKEN_PATTERN.test(refreshToken)) return null;
    return parseTokValue(await redis.get(tokKey(sha256(refreshToken))));
  }

  async function rotateFamily(family: RefreshFamily, expectedHash: string): Promise<{ status: string; token: string | null }> {
    const { userId, sessionId } = family;
    const left = family.absoluteExpiresAtMs - Date.now();
    if (left <= 0) return { status: 'missing', token: null };
    const token = newToken();
    const newKey = tokKey(sha256(token));
    // Both writes wait for a replica (on a cluster): a token handed out must outlive its primary.
    await execReplicated(redis, (p) => p.set(newKey, tokValue(sessionId, userId), 'PX', left));
    const sealedToken = graceMs > 0 && expectedHash !== '' ? sealed.seal(token) : '';
    const keys = [famKey(userId, sessionId), graceKey(userId, sessionId)];
    const args = [expectedHash, sha256(token), String(Date.now()), String(slidingMs), String(graceMs), sealedToken];
    const [[status, graceToken]] = (await execReplicated(redis, (p) => p.eval(ROTATE, 2, ...keys, ...args))) as [[string, string?]];
    // The new token was not handed out: its key points nowhere useful (and expires anyway).
    if (status !== 'ok') await redis.del(newKey).catch(() => undefined);
    return { status, token: status === 'grace' ? sealed.open(graceToken ?? '') : status === 'ok' ? token : null };
  }

  const store: RefreshTokenStore = {
    async create(userId, method, authenticatedAtMs) {
      const sessionId = randomUUID();
      const now = Date.now();
      const refreshToken = newToken();
      const family: RefreshFamily = { sessionId, userId, method, createdAtMs: now, authenticatedAtMs, absoluteExpiresAtMs: now + absoluteMs };
      // The token's key first (see the key notes above), then the family and the user's set, atomically.
      await execReplicated(redis, (p) => p.set(tokKey(sha256(refreshToken)), tokValue(sessionId, userId), 'PX', absoluteMs));
      const fields = { userId, current: sha256(refreshToken), method, createdAt: String(now), authAt: String(authenticatedAtMs), absExp: String(family.absoluteExpiresAtMs) };
      await execReplicated(redis, (p) =>
        p.eval(CREATE, 2, famKey(userId, sessionId), sessionsKey(userId), sessionId, String(Math.min(slidingMs, absoluteMs)), String(absoluteMs), ...Object.entries(fields).flat()),
      );
      return { family, refreshToken };
    },

    async rotate(refreshToken) {
      const ref = await familyRef(refreshToken);
      if (!ref) return { kind: 'invalid' };
      const family = await get(ref.userId, ref.sessionId);
      if (!family) return { kind: 'invalid' };
      const { status, token } = await rotateFamily(family, sha256(refreshToken));
      if (status === 'ok' && token) return { kind: 'ok', family, refreshToken: token };
      if (status === 'grace' && token) return { kind: 'grace', family, refreshToken: token };
      if (status === 'reused' || status === 'grace') return { kind: 'reused', family };
      return { kind: 'invalid' };
    },

    async reissue(userId, sessionId) {
      const family = await get(userId, sessionId);
      if (!family) return null;
      const { status, token } = await rotateFamily(family, '');
      return status === 'ok' ? token : null;
    },

    async familyOf(refreshToken) {
      const ref = await familyRef(refreshToken);
      return ref ? get(ref.userId, ref.sessionId) : null;
    },

    get,

    async revoke(userId, sessionId) {
      const family = await get(userId, sessionId);
      await redis.multi().del(famKey(userId, sessionId), graceKey(userId, sessionId)).srem(sessionsKey(userId), sessionId).exec();
      return family;
    },

    async revokeAll(userId, keep) {
      // Cutoff before the set is read: a family this read misses was created after the cutoff was
      // set, so the session service, which reads the cutoff after creating a family, sees it.
      const cutoff = Date.now();
      await redis.eval(RAISE_CUTOFF, 1, cutoffKey(userId), String(cutoff), String(absoluteMs));
      const sessionIds = (await redis.smembers(sessionsKey(userId))).filter((sid) => sid !== keep);
      if (sessionIds.length > 0) {
        await redis
          .multi()
          .del(...sessionIds.flatMap((sid) => [famKey(userId, sid), graceKey(userId, sid)]))
          .srem(sessionsKey(userId), ...sessionIds)
          .exec();
      }
      // A login or reissue right after this call must be authenticated at a later millisecond.
      while (Date.now() <= cutoff) await new Promise((r) => setTimeout(r, 1));
      return sessionIds;
    },

    async cutoff(userId) {
      const value = await redis.get(cutoffKey(userId));
      return value === null ? null : Number(value);
    },
  };
  return store;
}
