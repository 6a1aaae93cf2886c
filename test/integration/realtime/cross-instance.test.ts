import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { createApiApp, type ApiApp } from '../../../src/app.js';
import { recordViolation } from '../../harness/contract-audit.js';
import { connectAdmin, connectDevice } from '../../harness/socket-client.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser } from '../../harness/users.js';

/** Two API instances in one process sharing Redis: the adapter must carry deliveries between them. */
for (const sharded of [false, true]) {
  describe(`cross-instance delivery (${sharded ? 'sharded pub/sub, Redis 7' : 'classic pub/sub'} adapter)`, () => {
    let first: TestApp;
    let second: ApiApp;

    before(async () => {
      first = await startTestApp(sharded ? 'sharded' : 'classic', { realtime: { shardedPubSub: sharded, ackTimeoutMs: 500, redeliverIntervalMs: 60_000 } });
      second = await createApiApp({ ...first.config, app: { ...first.config.app, instanceId: `${first.config.app.instanceId}-b` } }, { log: first.log, responseAudit: recordViolation });
      await second.start();
    });

    after(async () => {
      await second.stop();
      await first.destroy();
    });

    it('when a notification is stored by one instance, then a device on the other gets it live (no catch-up needed)', async () => {
      const user = await createTestUser(first);
      const device = await connectDevice(first.url(), user.accessToken);
      try {
        // Let the socket's room membership settle before publishing from the other instance.
        await new Promise((r) => setTimeout(r, 200));
        // A stored notification handed to the *second* instance's delivery: only the adapter can
        // bring it to the socket on the first (catch-up is slowed down to a minute here).
        second.realtime.delivery.deliver(user.userId, {
          id: `${user.userId}:1`,
          userId: user.userId,
          seq: 1,
          diaryId: '1',
          eventId: randomUUID(),
          type: 'analysis.status',
          payload: { diaryId: '1', revision: 1, status: 'PROCESSING' },
          createdAt: new Date(),
          ackedAt: null,
        });
        await device.waitFor('live delivery from the other instance', () => device.notifications.length === 1, 5_000);
        expect(device.notifications[0]!.payload).to.include({ status: 'PROCESSING' });
      } finally {
        device.close();
      }
    });

    it('when an admin on one instance announces, then users on the other get it and the admin sees their acks', async () => {
      const adminUser = await createTestUser(first, { role: 'ADMIN' });
      const admin = await connectAdmin(first.url(), adminUser.accessToken);
      const user = await createTestUser(first);
      const device = await connectDevice(second.url(), user.accessToken);
      try {
        await new Promise((r) => setTimeout(r, 200));
        const res = await request(first.server).post('/api/v1/admin/announcements').set(adminUser.auth).send({ title: 'Hi', body: 'From instance one' });
        expect(res.status).to.equal(201);
        await device.waitFor('announcement on the other instance', () => device.announcements.find((a) => a.id === res.body.id), 5_000);
        await admin.waitFor('ack count from the other instance', () => admin.ackCounts.get(res.body.id) === 1, 5_000);
        const snapshot = (await admin.socket.timeout(5_000).emitWithAck('activity:snapshot', {})) as { instances: unknown[]; partial: boolean };
        expect(snapshot.instances).to.have.length(2);
        expect(snapshot.partial).to.equal(false);
      } finally {
        admin.close();
        device.close();
      }
    });
  });
}
