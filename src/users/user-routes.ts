import { tokenPairSchema } from '../auth/auth-schemas.js';
import { defineRoute, type RouteSpec } from '../http/route.js';
import type { UserService } from './user-service.js';
import { changePasswordBody, deleteMeBody, patchMeBody, userProfileSchema } from './user-schemas.js';

const tags = ['users'];

export function userRoutes(users: UserService): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/users/me',
      operationId: 'getMe',
      summary: 'The signed-in user’s profile',
      tags,
      access: 'user',
      responses: { 200: userProfileSchema },
      handler: async ({ principal }) => ({ status: 200, body: await users.profile(principal!.userId) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/users/me',
      operationId: 'updateMe',
      summary: 'Change nickname and/or profile image URL (http/https; null removes it)',
      tags,
      access: 'user',
      body: patchMeBody,
      responses: { 200: userProfileSchema },
      handler: async ({ principal, body }) => ({ status: 200, body: await users.update(principal!.userId, body) }),
    }),
    defineRoute({
      method: 'post',
      path: '/users/me/password',
      operationId: 'changePassword',
      summary: 'Change the password (current one required); other sessions end, this one gets a new token pair',
      tags,
      access: 'user',
      body: changePasswordBody,
      responses: { 200: tokenPairSchema },
      errors: [409],
      handler: async ({ principal, body, meta }) => ({
        status: 200,
        body: await users.changePassword(principal!, body, meta.ip),
        headers: { 'Cache-Control': 'no-store' },
      }),
    }),
    defineRoute({
      // POST, not DELETE: the request carries a body (the password), which DELETE has no defined semantics for.
      method: 'post',
      path: '/users/me/delete',
      operationId: 'deleteMe',
      summary: 'Delete the account and everything it owns (password, or for social-only accounts confirm:true from a fresh login)',
      tags,
      access: 'user',
      body: deleteMeBody,
      responses: { 204: null },
      handler: async ({ principal, body, meta }) => {
        await users.deleteAccount(principal!, body, meta.ip);
        return { status: 204 };
      },
    }),
  ];
}
