import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.js';
import {
  acceptedSchema,
  emailOnlyBody,
  loginBody,
  logoutBody,
  refreshBody,
  registerBody,
  registeredSchema,
  resetPasswordBody,
  tokenPairSchema,
  verifiedSchema,
  verifyEmailBody,
} from './auth-schemas.js';
import type { AuthService } from './auth-service.js';
import type { SessionService } from './session-service.js';

const tags = ['auth'];
/** Token answers must not be cached by anything between the API and the client. */
const noStore = { 'Cache-Control': 'no-store' };

export function authRoutes(auth: AuthService, sessions: SessionService): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/auth/register',
      operationId: 'register',
      summary: 'Create an account (status WAITING) and mail a 6-digit verification code',
      tags,
      access: 'public',
      body: registerBody,
      responses: { 201: registeredSchema },
      errors: [409],
      handler: async ({ body, meta }) => ({ status: 201, body: await auth.register(body, meta.ip) }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/verify-email',
      operationId: 'verifyEmail',
      summary: 'Activate an account with the mailed code (bounded attempts; then request a new code)',
      tags,
      access: 'public',
      body: verifyEmailBody,
      responses: { 200: verifiedSchema },
      handler: async ({ body, meta }) => ({ status: 200, body: await auth.verifyEmail(body, meta.ip) }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/resend-code',
      operationId: 'resendVerificationCode',
      summary: 'Mail a new verification code to a pending account (same answer for any address; cooldown per address)',
      tags,
      access: 'public',
      body: emailOnlyBody,
      responses: { 202: acceptedSchema },
      handler: async ({ body, meta }) => ({ status: 202, body: await auth.resendCode(body, meta.ip) }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/login',
      operationId: 'login',
      summary: 'Log in with email or username and password; answers a token pair',
      tags,
      access: 'public',
      body: loginBody,
      responses: { 200: tokenPairSchema },
      errors: [401, 403],
      handler: async ({ body, meta }) => ({ status: 200, body: await auth.login(body, meta.ip), headers: noStore }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/refresh',
      operationId: 'refreshTokens',
      summary: 'Exchange a refresh token for a new pair (rotation; reusing an old token revokes the session)',
      tags,
      access: 'public',
      body: refreshBody,
      responses: { 200: tokenPairSchema },
      errors: [401, 403],
      handler: async ({ body }) => ({ status: 200, body: await sessions.refresh(body.refreshToken), headers: noStore }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/logout',
      operationId: 'logout',
      summary: 'End the current session (its refresh tokens and access tokens)',
      tags,
      access: 'user',
      body: logoutBody,
      responses: { 204: null },
      handler: async ({ body, principal }) => {
        await sessions.logout(principal!, body.refreshToken);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/logout-all',
      operationId: 'logoutAll',
      summary: 'End every session of the account on every device',
      tags,
      access: 'user',
      body: z.object({}).strict(),
      responses: { 204: null },
      handler: async ({ principal }) => {
        await sessions.endAll(principal!.userId, 'logout_all');
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/password/forgot',
      operationId: 'forgotPassword',
      summary: 'Mail a password reset code (same answer whether the account exists or not)',
      tags,
      access: 'public',
      body: emailOnlyBody,
      responses: { 202: acceptedSchema },
      handler: async ({ body, meta }) => ({ status: 202, body: await auth.forgotPassword(body, meta.ip) }),
    }),
    defineRoute({
      method: 'post',
      path: '/auth/password/reset',
      operationId: 'resetPassword',
      summary: 'Set a new password with the mailed code; ends every session',
      tags,
      access: 'public',
      body: resetPasswordBody,
      responses: { 204: null },
      handler: async ({ body, meta }) => {
        await auth.resetPassword(body, meta.ip);
        return { status: 204 };
      },
    }),
  ];
}
