import { z } from 'zod';
import { queryInt } from '../http/field-schemas.js';
import { defineRoute, type RouteSpec } from '../http/route.js';
import type { NotificationService } from './notification-service.js';

const seq = queryInt(0);
const notificationSchema = z.object({
  id: z.string(),
  seq: z.number().int(),
  type: z.string(),
  payload: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime(),
  ackedAt: z.iso.datetime().nullable(),
});

const listQuery = z
  .object({
    afterSeq: seq.optional(),
    beforeSeq: seq.optional(),
    unacked: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    limit: queryInt(1, 200).default(50),
  })
  .strict();

const ackIds = z.array(z.string().regex(/^[a-f0-9]{24}$/, 'must be a notification id')).max(500);
const ackUpTo = z.number().int().min(0);
/** ids, upToSeq or both (a union, so the document says "at least one" as the validator does). */
const ackBody = z.union([z.object({ ids: ackIds, upToSeq: ackUpTo.optional() }).strict(), z.object({ ids: ackIds.optional(), upToSeq: ackUpTo }).strict()]);

export function notificationRoutes(notifications: NotificationService): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/notifications',
      operationId: 'listNotifications',
      summary: 'The caller\'s notification inbox: newest first, or oldest first after a sequence (replay)',
      tags: ['notifications'],
      access: 'user',
      query: listQuery,
      responses: { 200: z.object({ items: z.array(notificationSchema) }) },
      handler: async ({ principal, query }) => ({
        status: 200,
        body: { items: await notifications.list(principal!.userId, { afterSeq: query.afterSeq, beforeSeq: query.beforeSeq, unackedOnly: query.unacked, limit: query.limit }) },
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/notifications/ack',
      operationId: 'ackNotifications',
      summary: 'Acknowledge notifications by id and/or up to a sequence (the same store the sockets use)',
      tags: ['notifications'],
      access: 'user',
      body: ackBody,
      responses: { 200: z.object({ acked: z.number().int() }) },
      handler: async ({ principal, body }) => ({ status: 200, body: { acked: await notifications.ack(principal!.userId, body) } }),
    }),
  ];
}
