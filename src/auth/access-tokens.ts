import { createSecretKey, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { AppConfig } from '../../config/index.js';
import type { Principal } from '../http/route.js';
import { UnauthorizedError } from '../../kernel/errors.js';
import type { TokenRevocation } from './token-revocation.js';

export interface IssuedAccessToken {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the token expires. */
  expiresIn: number;
  expiresAt: Date;
}

export interface VerifiedAccessToken extends Principal {
  issuedAtMs: number;
  expiresAtMs: number;
}

export interface AccessTokens {
  issue(subject: { userId: string; role: Principal['role']; sessionId: string }): IssuedAccessToken;
  /**
   * Verifies signature (pinned algorithm), iss, aud, exp and iat (both required), and revocation;
   * throws UnauthorizedError. `remember: false` for a token used once per connection (a socket's
   * handshake or token refresh): remembering every connected device's token would cost each
   * socket about 0.4 KiB of heap for a check it does not repeat.
   */
  verify(token: string, options?: { remember?: boolean }): Promise<VerifiedAccessToken>;
}

interface AccessClaims {
  sub: string;
  role: Principal['role'];
  sid: string;
  jti: string;
  /** Issue time in milliseconds; `iat` has only second precision, too coarse for revocation. */
  iat_ms: number;
  iat: number;
  exp: number;
}

/** Tokens whose signature and claims were verified, kept so a client's next request skips the HMAC and the parsing. */
const VERIFIED_CACHE_MAX = 10_000;
/** Seconds of clock skew allowed on `exp` (as jsonwebtoken's clockTolerance). */
const CLOCK_TOLERANCE_SEC = 5;

/**
 * Short-lived access JWTs. The algorithm is pinned on both sides, so `alg: none` and HS/RS
 * confusion are refused by construction; every claim the API relies on is checked for shape.
 *
 * A token that passed is remembered (by its exact text, at most VERIFIED_CACHE_MAX, the oldest
 * forgotten first), so the requests and reconnects of one client verify its signature once: a
 * remembered token is still refused once expired, and revocation is asked on every use. Only
 * tokens that passed are remembered, so a forged one costs the full check every time.
 */
export function createAccessTokens(config: AppConfig['auth']['jwt'], revocation: TokenRevocation, options: { now?: () => number } = {}): AccessTokens {
  const now = options.now ?? Date.now;
  const verified = new Map<string, VerifiedAccessToken>();
  // A KeyObject built once: given a string, jsonwebtoken first tries to parse it as a public key
  // on every verify (and throws), which cost about 15% of the API's CPU under load.
  const key = createSecretKey(Buffer.from(config.secret, 'utf8'));
  return {
    issue({ userId, role, sessionId }) {
      const nowMs = Date.now();
      const accessToken = jwt.sign({ role, sid: sessionId, iat_ms: nowMs }, key, {
        algorithm: config.algorithm,
        subject: userId,
        issuer: config.issuer,
        audience: config.audience,
        expiresIn: config.accessTtlSec,
        jwtid: randomUUID(),
      });
      return {
        accessToken,
        tokenType: 'Bearer',
        expiresIn: config.accessTtlSec,
        expiresAt: new Date(Math.floor(nowMs / 1000) * 1000 + config.accessTtlSec * 1000),
      };
    },

    async verify(token, { remember = true } = {}) {
      const nowMs = now();
      const known = verified.get(token);
      if (known) {
        if (Math.floor(nowMs / 1000) >= known.expiresAtMs / 1000 + CLOCK_TOLERANCE_SEC) {
          verified.delete(token);
          throw new UnauthorizedError('Access token expired', 'token_expired');
        }
        if (await revocation.isRevoked({ userId: known.userId, sessionId: known.sessionId, issuedAtMs: known.issuedAtMs })) {
          throw new UnauthorizedError('Access token revoked', 'token_revoked');
        }
        return { ...known };
      }
      let claims: AccessClaims;
      try {
        claims = jwt.verify(token, key, {
          algorithms: [config.algorithm],
          issuer: config.issuer,
          audience: config.audience,
          clockTolerance: CLOCK_TOLERANCE_SEC,
          clockTimestamp: Math.floor(nowMs / 1000),
        }) as AccessClaims;
      } catch (err) {
        const expired = err instanceof jwt.TokenExpiredError;
        throw new UnauthorizedError(expired ? 'Access token expired' : 'Invalid access token', expired ? 'token_expired' : 'invalid_token');
      }
      const valid =
        typeof claims.sub === 'string' &&
        /^\d{1,20}$/.test(claims.sub) &&
        (claims.role === 'USER' || claims.role === 'ADMIN') &&
        typeof claims.sid === 'string' &&
        typeof claims.jti === 'string' &&
        typeof claims.iat_ms === 'number' &&
        // jsonwebtoken checks exp only when present: a token without one would never expire.
        typeof claims.exp === 'number' &&
        typeof claims.iat === 'number';
      if (!valid) throw new UnauthorizedError('Invalid access token', 'invalid_token');
      if (await revocation.isRevoked({ userId: claims.sub, sessionId: claims.sid, issuedAtMs: claims.iat_ms })) {
        throw new UnauthorizedError('Access token revoked', 'token_revoked');
      }
      const principal: VerifiedAccessToken = {
        userId: claims.sub,
        role: claims.role,
        sessionId: claims.sid,
        tokenId: claims.jti,
        issuedAtMs: claims.iat_ms,
        expiresAtMs: claims.exp * 1000,
      };
      if (remember) {
        if (verified.size >= VERIFIED_CACHE_MAX) verified.delete(verified.keys().next().value!);
        verified.set(token, principal);
      }
      return { ...principal };
    },
  };
}

/** Reads `Authorization: Bearer <token>`; anything else is a 401 before any crypto runs. */
export function bearerToken(header: string | undefined): string {
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(header ?? '');
  if (!match) throw new UnauthorizedError('Missing or malformed bearer token', 'invalid_token');
  return match[1]!;
}
