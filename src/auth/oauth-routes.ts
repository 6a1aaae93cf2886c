import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import { z } from 'zod';
import type { AppConfig } from '../../config/index.js';
import { API_PREFIX } from '../http/openapi.js';
import { defineRoute, type RouteSpec } from '../http/route.js';
import { isAppError, NotFoundError } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/logger.js';
import { tokenPairSchema } from './auth-schemas.js';
import { SOCIAL_PROVIDERS, type OAuthPassport } from './oauth-passport.js';
import type { OAuthService } from './oauth-service.js';
import { BINDING_COOKIE, sha256 } from './oauth-state-store.js';

const providerParams = z.object({ provider: z.enum(SOCIAL_PROVIDERS as ['google', 'kakao', 'naver']) }).strict();
/**
 * The callback's query is written by the provider, which adds parameters of its own (Google sends
 * `scope`, `authuser`, `prompt`): the ones used are validated, the others ignored rather than refused.
 */
const callbackQuery = z.object({
  code: z.string().min(1).max(2048).optional(),
  state: z.string().max(256).optional(),
  error: z.string().max(256).optional(),
});
const exchangeBody = z.object({ code: z.string().min(1).max(256) }).strict();
const noQuery = z.object({}).strict();
const noBody = z.object({}).strict();
const noStore = { 'Cache-Control': 'no-store' };

export interface OAuthRouteDeps {
  config: Pick<AppConfig, 'app' | 'auth'>;
  passport: OAuthPassport;
  oauth: OAuthService;
  log: Logger;
}

/**
 * OAuth2 login and account linking for google, kakao and naver. Tokens never travel in a URL:
 * the callback redirects the browser to `auth.oauthSuccessRedirect` with `#code=<one-time code>`
 * (or `#linked=<provider>`, or `#error=<code>`), and the client trades the code for a token pair
 * with `POST /auth/oauth/exchange`.
 */
export function oauthRoutes(deps: OAuthRouteDeps): RouteSpec[] {
  const { config, passport, oauth } = deps;
  const log = deps.log.child({ component: 'oauth' });
  const secureCookie = config.app.publicUrl.startsWith('https:');
  const cookiePath = `${API_PREFIX}/auth/oauth`;

  const requireEnabled = (provider: string) => {
    if (!passport.enabled(provider)) throw new NotFoundError('OAuth provider');
    return provider;
  };

  /** A fresh binding nonce in an httpOnly cookie; its hash goes into the state record. */
  function bindBrowser(ctx: Context): string {
    const nonce = randomBytes(32).toString('base64url');
    if (secureCookie) ctx.cookies.secure = true;
    ctx.cookies.set(BINDING_COOKIE, nonce, { httpOnly: true, sameSite: 'lax', path: cookiePath, maxAge: config.auth.oauthStateTtlSec * 1000, secure: secureCookie, overwrite: true });
    return sha256(nonce);
  }

  function clearBinding(ctx: Context): void {
    if (secureCookie) ctx.cookies.secure = true;
    ctx.cookies.set(BINDING_COOKIE, '', { httpOnly: true, sameSite: 'lax', path: cookiePath, maxAge: 0, secure: secureCookie, overwrite: true });
  }

  function landing(params: Record<string, string>) {
    const base = config.auth.oauthSuccessRedirect.split('#')[0];
    return { status: 302, headers: { Location: `${base}#${new URLSearchParams(params).toString()}`, ...noStore } };
  }

  return [
    defineRoute({
      method: 'get',
      path: '/auth/providers',
      operationId: 'oauthProviders',
      summary: 'The OAuth providers this deployment has enabled (the login page shows buttons only for these)',
      tags: ['auth'],
      access: 'public',
      query: noQuery,
      responses: { 200: z.object({ providers: z.array(providerParams.shape.provider) }) },
      handler: async () => ({ status: 200, body: { providers: SOCIAL_PROVIDERS.filter((p) => passport.enabled(p)) }, headers: { 'Cache-Control': 'public, max-age=60' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/auth/oauth/:provider',
      operationId: 'oauthStart',
      summary: 'Start an OAuth login: redirect to the provider with state (and PKCE where supported)',
      tags: ['auth'],
      access: 'public',
      params: providerParams,
      query: noQuery,
      responses: { 302: null },
      errors: [404],
      handler: async ({ params, ctx }) => {
        const provider = requireEnabled(params.provider);
        const outcome = await passport.run(ctx, provider, { intent: 'login', binding: bindBrowser(ctx) });
        if (outcome.kind !== 'redirect') throw outcome.kind === 'error' ? outcome.err : new Error('OAuth start did not redirect');
        return { status: 302, headers: { Location: outcome.url, ...noStore } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/auth/oauth/:provider/callback',
      operationId: 'oauthCallback',
      summary: 'Provider callback: checks state, binding cookie and PKCE, then redirects to the app with a one-time code',
      tags: ['auth'],
      access: 'public',
      params: providerParams,
      query: callbackQuery,
      responses: { 302: null },
      errors: [404],
      handler: async ({ params, query, ctx }) => {
        const provider = requireEnabled(params.provider);
        clearBinding(ctx);
        if (query.error) return landing({ error: query.error === 'access_denied' ? 'access_denied' : 'provider_error' });
        // Without a code passport would start a new authorization instead of completing one.
        if (!query.code || !query.state) return landing({ error: 'invalid_state' });
        const outcome = await passport.run(ctx, provider);
        try {
          switch (outcome.kind) {
            case 'success':
              if (outcome.state.intent === 'link' && outcome.state.userId) {
                await oauth.link(outcome.state.userId, outcome.profile);
                return landing({ linked: provider });
              }
              return landing({ code: await oauth.login(outcome.profile) });
            case 'fail':
              log.info({ provider, reason: outcome.reason }, 'oauth callback refused');
              return landing({ error: outcome.reason === 'invalid_state' ? 'invalid_state' : 'access_denied' });
            default:
              log.warn({ provider, err: outcome.kind === 'error' ? outcome.err : undefined }, 'oauth provider exchange failed');
              return landing({ error: 'provider_error' });
          }
        } catch (err) {
          if (!isAppError(err) || err.status >= 500) throw err;
          log.info({ provider, errorCode: err.code }, 'oauth login refused');
          return landing({ error: err.code });
        }
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/oauth/exchange',
      operationId: 'oauthExchange',
      summary: 'Trade the one-time code from the OAuth redirect for a token pair',
      tags: ['auth'],
      access: 'public',
      body: exchangeBody,
      responses: { 200: tokenPairSchema },
      errors: [403],
      handler: async ({ body }) => ({ status: 200, body: await oauth.exchange(body.code), headers: noStore }),
    }),
    defineRoute({
      method: 'post',
      path: '/users/me/providers/:provider/link',
      operationId: 'linkProviderStart',
      summary: 'Start linking a provider to the account: answers the URL to open in the same browser',
      tags: ['users'],
      access: 'user',
      params: providerParams,
      body: noBody,
      responses: { 200: z.object({ authorizationUrl: z.string() }) },
      errors: [404],
      handler: async ({ params, principal, ctx }) => {
        const provider = requireEnabled(params.provider);
        const outcome = await passport.run(ctx, provider, { intent: 'link', userId: principal!.userId, binding: bindBrowser(ctx) });
        if (outcome.kind !== 'redirect') throw outcome.kind === 'error' ? outcome.err : new Error('OAuth start did not redirect');
        return { status: 200, body: { authorizationUrl: outcome.url }, headers: noStore };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/users/me/providers/:provider',
      operationId: 'unlinkProvider',
      summary: 'Unlink a provider, unless it is the last way to log in',
      tags: ['users'],
      access: 'user',
      params: providerParams,
      responses: { 204: null },
      errors: [404, 409],
      handler: async ({ params, principal }) => {
        await oauth.unlink(principal!.userId, params.provider);
        return { status: 204 };
      },
    }),
  ];
}
