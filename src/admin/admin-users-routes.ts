import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.js';
import { adminEmailBody, adminUserSchema, listUsersQuery, setPremiumBody, setRoleBody, userIdParams, userPageSchema } from './admin-users-schemas.js';
import type { AdminUsersService } from './admin-users-service.js';

const tags = ['admin'];

/** Account administration; every route requires role ADMIN (403 otherwise). */
export function adminUsersRoutes(admin: AdminUsersService): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/admin/users',
      operationId: 'adminListUsers',
      summary: 'List accounts, newest first, with cursor pagination and filters',
      tags,
      access: 'admin',
      query: listUsersQuery,
      responses: { 200: userPageSchema },
      handler: async ({ principal, query }) => ({ status: 200, body: await admin.list(principal!.userId, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/admin/users/:id',
      operationId: 'adminGetUser',
      summary: 'One account',
      tags,
      access: 'admin',
      params: userIdParams,
      responses: { 200: adminUserSchema },
      errors: [404],
      handler: async ({ params }) => ({ status: 200, body: await admin.get(params.id) }),
    }),
    defineRoute({
      method: 'post',
      path: '/admin/users/:id/email',
      operationId: 'adminEmailUser',
      summary: "Send a plain-text email to an account's verified address",
      tags,
      access: 'admin',
      params: userIdParams,
      body: adminEmailBody,
      responses: { 202: z.object({ sent: z.literal(true) }) },
      errors: [404, 409, 503],
      handler: async ({ principal, params, body }) => {
        await admin.email(principal!.userId, params.id, body);
        return { status: 202, body: { sent: true as const } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/admin/users/:id/block',
      operationId: 'adminBlockUser',
      summary: 'Block an account: refused at login, every session and token ends now',
      tags,
      access: 'admin',
      params: userIdParams,
      responses: { 200: adminUserSchema },
      errors: [404, 409],
      handler: async ({ params, principal }) => ({ status: 200, body: await admin.block(principal!.userId, params.id) }),
    }),
    defineRoute({
      method: 'post',
      path: '/admin/users/:id/unblock',
      operationId: 'adminUnblockUser',
      summary: 'Unblock an account',
      tags,
      access: 'admin',
      params: userIdParams,
      responses: { 200: adminUserSchema },
      errors: [404],
      handler: async ({ params, principal }) => ({ status: 200, body: await admin.unblock(principal!.userId, params.id) }),
    }),
    defineRoute({
      method: 'put',
      path: '/admin/users/:id/role',
      operationId: 'adminSetUserRole',
      summary: 'Set the role (USER or ADMIN); the account’s access tokens are revoked so the change applies at once',
      tags,
      access: 'admin',
      params: userIdParams,
      body: setRoleBody,
      responses: { 200: adminUserSchema },
      errors: [404, 409],
      handler: async ({ params, body, principal }) => ({ status: 200, body: await admin.setRole(principal!.userId, params.id, body.role) }),
    }),
    defineRoute({
      method: 'put',
      path: '/admin/users/:id/premium',
      operationId: 'adminSetUserPremium',
      summary: 'Grant or withdraw premium',
      tags,
      access: 'admin',
      params: userIdParams,
      body: setPremiumBody,
      responses: { 200: adminUserSchema },
      errors: [404],
      handler: async ({ params, body, principal }) => ({ status: 200, body: await admin.setPremium(principal!.userId, params.id, body.isPremium) }),
    }),
  ];
}
