import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { RedisClient } from '../../kernel/clients/redis.js';
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
 * expires after `ttlSec` and is deleted when redeemed, so a state can be redeemed once, for the
 * provider it was made for, by the browser holding the binding cookie (login CSRF defence).
 * The method arities (5 and 4) are what passport-oauth2 dispatches on; keep them.
 */
export class RedisOAuthStateStore {
  constructor(
    private readonly redis: RedisClient,
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

  /**
   * Redeems the state only for its own provider and the browser holding its binding cookie: a
   * callback without the cookie, or with another browser's, is refused and leaves the state for
   * the genuine one (otherwise anyone who saw the callback URL could spoil the user's login).
   */
  verify(req: { ctx: Context }, providedState: unknown, _meta: unknown, callback: VerifyCallback): void {
    const refuse = () => callback(null, false, { message: 'invalid_state' });
    if (typeof providedState !== 'string' || !STATE_PATTERN.test(providedState)) return refuse();
    const binding = sha256(req.ctx.cookies.get(BINDING_COOKIE) ?? '');
    (this.redis.eval(REDEEM, 1, key(providedState), this.provider, binding) as Promise<string | null>)
      .then((raw) => {
        if (typeof raw !== 'string') return refuse();
        const record = JSON.parse(raw) as StoredState;
        callback(null, record.verifier ?? true, record);
      })
      .catch((err: Error) => callback(err, false, { message: 'state_store_error' }));
  }
}

const key = (handle: string) => `oauth:state:${handle}`;

// KEYS: the state record. ARGV: provider, binding hash. Deletes and returns the record only when both match.
const REDEEM = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local record = cjson.decode(raw)
if record.provider ~= ARGV[1] or record.binding ~= ARGV[2] then return false end
redis.call('DEL', KEYS[1])
return raw`;
