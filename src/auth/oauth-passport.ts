import type { Context } from 'koa';
import koaPassport from 'koa-passport';
import OAuth2Strategy from 'passport-oauth2';
import type { RedisClient } from '../../kernel/clients/redis.js';
import type { AppConfig, OAuthProviderConfig } from '../../config/index.js';
import type { SocialProvider } from '../users/user-repository.js';
import { mapUserinfo, type SocialProfile } from './oauth-profiles.js';
import { RedisOAuthStateStore, type OAuthRequestState } from './oauth-state-store.js';

export const SOCIAL_PROVIDERS: readonly SocialProvider[] = ['google', 'kakao', 'naver'];

/** How one run of a passport strategy over a request ended. */
export type PassportOutcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'success'; profile: SocialProfile; state: OAuthRequestState }
  | { kind: 'fail'; reason: string }
  | { kind: 'error'; err: unknown };

/**
 * A passport-oauth2 strategy for one provider: authorization code grant with `state` (Redis store)
 * and PKCE S256 where the provider supports it, and the provider's own userinfo shape. The provider
 * access token is used once, for userinfo, and then dropped.
 */
class SocialStrategy extends OAuth2Strategy {
  constructor(
    readonly provider: SocialProvider,
    private readonly settings: OAuthProviderConfig,
    callbackURL: string,
    store: RedisOAuthStateStore,
  ) {
    super(
      {
        authorizationURL: settings.authorizationUrl,
        tokenURL: settings.tokenUrl,
        clientID: settings.clientId,
        clientSecret: settings.clientSecret,
        callbackURL,
        scope: settings.scope.length > 0 ? settings.scope : undefined,
        pkce: settings.pkce,
        store: store as unknown as OAuth2Strategy.StateStore,
      },
      (_accessToken: string, _refreshToken: string, profile: SocialProfile, done: OAuth2Strategy.VerifyCallback) => done(null, profile as never),
    );
    this.name = provider;
  }

  override userProfile(accessToken: string, done: (err?: unknown, profile?: SocialProfile) => void): void {
    fetch(this.settings.userInfoUrl, { headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' }, signal: AbortSignal.timeout(10_000) })
      .then(async (res) => {
        if (!res.ok) throw new Error(`userinfo answered ${res.status}`);
        return mapUserinfo(this.provider, await res.json());
      })
      .then(
        (profile) => done(null, profile),
        (err: unknown) => done(err),
      );
  }
}

export interface OAuthPassport {
  /** Providers that are enabled and configured with a client id. */
  enabled(provider: string): provider is SocialProvider;
  run(ctx: Context, provider: SocialProvider, state?: OAuthRequestState): Promise<PassportOutcome>;
}

/** One Passport instance per app (not the koa-passport singleton), so several apps can share a process. */
export function createOAuthPassport(config: Pick<AppConfig, 'app' | 'auth'>, redis: RedisClient): OAuthPassport {
  const passport = new koaPassport.KoaPassport();
  const enabled = new Set<SocialProvider>();
  for (const provider of SOCIAL_PROVIDERS) {
    const settings = config.auth[provider];
    if (!settings.enabled || !settings.clientId) continue;
    const callbackURL = `${config.app.publicUrl.replace(/\/$/, '')}/api/v1/auth/oauth/${provider}/callback`;
    passport.use(provider, new SocialStrategy(provider, settings, callbackURL, new RedisOAuthStateStore(redis, provider, config.auth.oauthStateTtlSec)));
    enabled.add(provider);
  }

  return {
    enabled: (provider: string): provider is SocialProvider => enabled.has(provider as SocialProvider),

    /**
     * Runs the strategy on the request. Without `code` in the query it starts an authorization
     * (outcome `redirect`, with `state` stored); with it, it completes one. Whatever passport wrote
     * to the response is taken back: the route decides the answer.
     */
    async run(ctx, provider, state) {
      let outcome: PassportOutcome | undefined;
      const middleware = passport.authenticate(provider, { session: false, ...(state ? { state } : {}) }, (err: unknown, user: unknown, info: unknown) => {
        if (err) outcome = { kind: 'error', err };
        else if (user) outcome = { kind: 'success', profile: user as SocialProfile, state: (info as { state: OAuthRequestState }).state };
        else outcome = { kind: 'fail', reason: (info as { message?: string } | undefined)?.message ?? 'refused' };
      });
      await middleware(ctx, async () => undefined);
      if (outcome) return outcome;
      const location = ctx.response.get('Location');
      ctx.remove('Location');
      ctx.body = undefined;
      return location ? { kind: 'redirect', url: location } : { kind: 'error', err: new Error('passport ended without an outcome') };
    },
  };
}
