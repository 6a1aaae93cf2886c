import type { Context } from 'koa';
import type { Authenticate } from '../http/mount-routes.js';
import { bearerToken, type AccessTokens } from './access-tokens.js';

/**
 * The HTTP edge of access tokens: Authorization header → Principal. Blocked users, logout,
 * password change and refresh-token reuse revoke tokens (see token-revocation.ts), so no
 * per-request user lookup is needed to refuse them.
 */
export function createAuthenticate(tokens: AccessTokens): Authenticate {
  return async (ctx: Context) => {
    const principal = await tokens.verify(bearerToken(ctx.get('authorization')));
    ctx.state.principal = principal;
    return principal;
  };
}
