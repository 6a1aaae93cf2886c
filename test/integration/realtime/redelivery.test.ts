import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createNotificationRepository, type NotificationRepository } from '../../../src/notifications/notification-repository.js';
import { connectDevice } from '../../harness/socket-client.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser } from '../../harness/users.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Delivery to connected devices when broadcasts arrive out of order or not at all (real store, real sockets). */
describe('notification delivery: out-of-order and lost broadcasts', () => {
  let app: TestApp;
  let repo: NotificationRepository;

  before(async () => {
    // The ack timeout is well above what an ack takes on a loaded machine: "once" must not depend on
    // the device's ack beating a 500 ms timer.
    app = await startTestApp('redelivery', { realtime: { ackTimeoutMs: 2_000, redeliverIntervalMs: 200 } });
    repo = createNotificationRepository(app.mongoModels);
  });

  after(async () => {
    await app.destroy();
  });

  const store = (userId: string) => repo.add(userId, { eventId: randomUUID(), type: 'analysis.status', payload: { diaryId: '1', revision: 1, status: 'PROCESSING' }, diaryId: '1' });

  it('when a user\'s broadcasts arrive out of order (two instances storing for one user), then the device gets each of them, in sequence order', async () => {
    const user = await createTestUser(app);
    const device = await connectDevice(app.url(), user.accessToken);
    try {
      await sleep(100);
      const first = await store(user.userId);
      const second = await store(user.userId);
      app.realtime.delivery.deliver(user.userId, second.notification);
      app.realtime.delivery.deliver(user.userId, first.notification);
      await device.waitFor('both', () => device.notifications.length === 2, 2_000);
      // The second arrived first with a gap below it: held until the gap was read from the store.
      expect(device.notifications.map((n) => n.seq)).to.deep.equal([1, 2]);
    } finally {
      device.close();
    }
  });

  it('when a notification is stored but its broadcast is lost, then a connected device gets it from a redelivery round, once', async () => {
    const user = await createTestUser(app);
    const device = await connectDevice(app.url(), user.accessToken);
    try {
      await sleep(100);
      const lost = await store(user.userId); // never handed to delivery
      await device.waitFor('the lost one', () => device.notifications.some((n) => n.id === lost.notification.id), 3_000);
      await sleep(1_000); // several more rounds: the device acked it, so none sends it again
      expect(device.deliveries).to.equal(1);
    } finally {
      device.close();
    }
  });
});
