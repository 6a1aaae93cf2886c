import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Connection } from 'mongoose';
import type { AppConfig } from '../../../config/index.js';
import { defineMongoModels, syncMongoIndexes } from '../../../models/mongo/index.js';
import { createNotificationRepository, type NotificationRepository } from '../../../src/notifications/notification-repository.js';
import { connectMongo } from '../../../src/platform/mongo.js';
import { dropNamespace, testConfig, uniqueNamespace } from '../../harness/test-app.js';

describe('notification inbox on the MongoDB-wire server', () => {
  let config: AppConfig;
  let conn: Connection;
  let repo: NotificationRepository;

  before(async () => {
    config = testConfig(uniqueNamespace('inbox'));
    conn = await connectMongo(config);
    const models = defineMongoModels(conn);
    await syncMongoIndexes(models);
    repo = createNotificationRepository(models);
  });

  after(async () => {
    await conn.close();
    await dropNamespace(config);
  });

  const add = (userId: string, eventId = randomUUID()) => repo.add(userId, { eventId, type: 'analysis.status', payload: { n: 1 } });

  it('when many notifications for one user are stored at once, then each gets its own sequence, 1..n without duplicates', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, () => add('u-concurrent')));
    const seqs = results.map((r) => r.notification.seq).sort((a, b) => a - b);
    expect(seqs).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(results.every((r) => r.created)).to.equal(true);
  });

  it('when the same event is stored twice, even concurrently, then one notification exists', async () => {
    const eventId = randomUUID();
    const results = await Promise.all([add('u-dup', eventId), add('u-dup', eventId), add('u-dup', eventId)]);
    expect(results.filter((r) => r.created)).to.have.length(1);
    expect(new Set(results.map((r) => r.notification.id)).size).to.equal(1);
  });

  it('when a device replays after a sequence, then it gets later ones and every unacked earlier one, in order', async () => {
    const user = 'u-replay';
    const stored = [];
    for (let i = 0; i < 5; i++) stored.push((await add(user)).notification);
    await repo.ack(user, { upToSeq: 3 });
    await repo.ack(user, { ids: [stored[4]!.id] });
    // seq 1-3 and 5 acked; 4 unacked.
    expect((await repo.forReplay(user, 4, 100)).map((n) => n.seq)).to.deep.equal([4, 5]);
    expect((await repo.forReplay(user, 5, 100)).map((n) => n.seq)).to.deep.equal([4]);
    expect(await repo.ack(user, { ids: ['not-an-id', stored[3]!.id] })).to.equal(1);
    expect(await repo.forReplay(user, 5, 100)).to.deep.equal([]);
  });

  it('when one device never acks a long backlog, then catch-up still finds what other users miss', async () => {
    for (let i = 0; i < 30; i++) await add('u-backlog');
    for (let i = 0; i < 40; i++) await add('u-behind-one');
    // u-backlog is at cursor 0 (30 pending, seq 1-30); u-behind-one misses only seq 40, which sorts
    // after the whole backlog and fell outside a shared limit of 20.
    const found = await repo.afterCursors([{ userId: 'u-backlog', afterSeq: 0 }, { userId: 'u-behind-one', afterSeq: 39 }], 20);
    expect(found.filter((n) => n.userId === 'u-behind-one').map((n) => n.seq)).to.deep.equal([40]);
    const backlog = found.filter((n) => n.userId === 'u-backlog').map((n) => n.seq);
    expect(backlog).to.deep.equal(Array.from({ length: backlog.length }, (_, i) => i + 1));
    expect(backlog.length).to.be.within(10, 20);
  });

  it("when one user acks, then another user's notifications are untouched", async () => {
    const mine = (await add('u-a')).notification;
    await add('u-b');
    expect(await repo.ack('u-b', { ids: [mine.id] })).to.equal(0);
    expect(await repo.ack('u-b', { upToSeq: 100 })).to.equal(1);
    expect((await repo.forReplay('u-a', 0, 10)).map((n) => n.id)).to.deep.equal([mine.id]);
  });
});
