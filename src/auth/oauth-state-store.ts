import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import type { Redis } from 'ioredis';
import type { SocialProvider } from '../users/user-repository.js';

/** Name of the httpOnly cookie that ties an authorization request to the browser that started it. */
export const BINDING_COOKIE = 'oauth_binding';

/** What the app remembers about one authorization request, keyed by its `state`. */
export interface OAuthRequestState {
  intent: 'login' | 'link';
  /** The account to link to (intent `link`). */
  userId?: string;
  /** SHA-256 of the binding cookie's value. */
  binding: string;
}

interface StoredState extends OAuthRequestState {
  provider: SocialProvider;
  /** PKCE code_verifier, for providers that support PKCE. */
  verifier?: string;
}

type StoreCallback = (err: Error | null, handle?: string) => void;
type VerifyCallback = (err: Error | null, ok: string | boolean, state: StoredState | { message: string }) => void;

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const STATE_PATTERN = /^[A-Za-z0-9_-]{32}$/;

/**
 * passport-oauth2 state store in Redis (no Koa session needed). The `state` sent to the provider is
 * a random handle; the record behind it holds the PKCE verifier, the intent and the binding hash,
 * expires after `ttlSec` and is deleted on first use, so a state can be redeemed once, for the
 * provider it was made for, by the browser holding the binding cookie (login CSRF defence).
 * The method arities (5 and 4) are what passport-oauth2 dispatches on; keep them.
 */
export class RedisOAuthStateStore {
  constructor(
    private readonly redis: Redis,
    private readonly provider: SocialProvider,
    private readonly ttlSec: number,
  ) {}

  store(_req: unknown, verifier: string | undefined, state: OAuthRequestState, _meta: unknown, callback: StoreCallback): void {
    const handle = randomBytes(24).toString('base64url');
    const record: StoredState = { ...state, provider: this.provider, ...(verifier ? { verifier } : {}) };
    this.redis.set(key(handle), JSON.stringify(record), 'EX', this.ttlSec).then(
      () => callback(null, handle),
      (err: Error) => callback(err),
    );
  }

  verify(req: { ctx: Context }, providedState: unknown, _meta: unknown, callback: VerifyCallback): void {
    const refuse = () => callback(null, false, { message: 'invalid_state' });
    if (typeof providedState !== 'string' || !STATE_PATTERN.test(providedState)) return refuse();
    this.redis
      .multi()
      .get(key(providedState))
      .del(key(providedState))
      .exec()
      .then((results) => {
        const raw = results?.[0]?.[1];
        if (typeof raw !== 'string') return refuse();
        const record = JSON.parse(raw) as StoredState;
        const cookie = req.ctx.cookies.get(BINDING_COOKIE) ?? '';
        if (record.provider !== this.provider || !sameHash(sha256(cookie), record.binding)) return refuse();
        callback(null, record.verifier ?? true, record);
      })
      .catch((err: Error) => callback(err, false, { message: 'state_store_error' }));
  }
}

const key = (handle: string) => `oauth:state:${handle}`;

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
