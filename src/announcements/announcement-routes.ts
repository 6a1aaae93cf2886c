import { z } from 'zod';
import { requiredText } from '../http/field-schemas.js';
import { defineRoute, type RouteSpec } from '../http/route.js';
import type { AnnouncementService } from './announcement-service.js';

const announcementSchema = z.object({
  id: z.string(),
  title: z.string(),
  body: z.string(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
});
const idParams = z.object({ id: z.string().regex(/^[a-f0-9]{24}$/, 'must be an announcement id') }).strict();
const createBody = z.object({ title: requiredText(200), body: requiredText(5000) }).strict();

export function announcementRoutes(announcements: AnnouncementService): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/admin/announcements',
      operationId: 'adminCreateAnnouncement',
      summary: 'Send an announcement to every user (live, or on their next connect)',
      tags: ['admin', 'announcements'],
      access: 'admin',
      body: createBody,
      responses: { 201: announcementSchema },
      handler: async ({ principal, body }) => ({ status: 201, body: await announcements.create(principal!.userId, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/admin/announcements',
      operationId: 'adminListAnnouncements',
      summary: 'Announcements with their ack counts',
      tags: ['admin', 'announcements'],
      access: 'admin',
      responses: { 200: z.object({ items: z.array(announcementSchema.extend({ acks: z.number().int() })) }) },
      handler: async () => ({ status: 200, body: { items: await announcements.listWithCounts(100) } }),
    }),
    defineRoute({
      method: 'get',
      path: '/announcements',
      operationId: 'listAnnouncements',
      summary: 'Recent announcements and whether the caller acknowledged each',
      tags: ['announcements'],
      access: 'user',
      responses: { 200: z.object({ items: z.array(announcementSchema.extend({ acked: z.boolean() })) }) },
      handler: async ({ principal }) => ({ status: 200, body: { items: await announcements.listFor(principal!.userId) } }),
    }),
    defineRoute({
      method: 'post',
      path: '/announcements/:id/ack',
      operationId: 'ackAnnouncement',
      summary: 'Acknowledge an announcement (counted once per user)',
      tags: ['announcements'],
      access: 'user',
      params: idParams,
      responses: { 200: z.object({ newlyAcked: z.boolean() }) },
      errors: [404],
      handler: async ({ principal, params }) => ({ status: 200, body: await announcements.ack(principal!.userId, params.id) }),
    }),
  ];
}
