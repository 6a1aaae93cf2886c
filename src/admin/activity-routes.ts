import { z } from 'zod';
import { defineRoute, type RouteSpec } from '../http/route.js';

const instanceStats = z.object({
  instanceId: z.string(),
  sockets: z.number().int(),
  adminSockets: z.number().int(),
  users: z.number().int(),
  at: z.iso.datetime(),
});
const snapshotSchema = z.object({
  instances: z.array(instanceStats),
  totalSockets: z.number().int(),
  partial: z.boolean().describe('true when an instance did not answer in time: the counts cover the others only'),
});

export type ActivitySnapshotBody = z.infer<typeof snapshotSchema>;

/** The admin activity snapshot over REST, the same cluster-wide answer as `activity:snapshot` on `/admin`. */
export function activityRoutes(snapshot: () => Promise<ActivitySnapshotBody>): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/admin/activity',
      operationId: 'adminActivitySnapshot',
      summary: 'Sockets and users per API instance, cluster-wide (partial when an instance does not answer)',
      tags: ['admin'],
      access: 'admin',
      responses: { 200: snapshotSchema },
      handler: async () => ({ status: 200, body: await snapshot(), headers: { 'Cache-Control': 'no-store' } }),
    }),
  ];
}
