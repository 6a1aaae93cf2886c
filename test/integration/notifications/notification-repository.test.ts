import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createNotificationRepository, parseNotificationId, type NotificationRepository } from '../../../src/notifications/notification-repository.js';
import { useMongoStore } from '../../harness/mongo-store.js';

describe('notification inbox on the MongoDB-wire server', () => {
  const mongo = useMongoStore('inbox');
  let repo: NotificationRepository;

  before(() => {
    repo = createNotificationRepository(mongo.models);
  });

  let users = 0;
  const newUser = () => String(1_000 + ++users);
  const add = (userId: string, eventId: string = randomUUID(), diaryId: string | null = null) =>
    repo.add(userId, { eventId, type: 'analysis.status', payload: { n: 1, diaryId }, diaryId });

  it('when many notifications for one user are stored at once, then each gets its own sequence, 1..n, and the head is n', async () => {
    const user = newUser();
    const results = await Promise.all(Array.from({ length: 30 }, () => add(user)));
    const seqs = results.map((r) => r.notification.seq).sort((a, b) => a - b);
    expect(seqs).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(results.every((r) => r.created)).to.equal(true);
    expect(results.every((r) => parseNotificationId(r.notification.id)?.seq === r.notification.seq)).to.equal(true);
    expect(await repo.head(user)).to.equal(30);
  });

  it('when the same event is stored twice, even concurrently, then one notification exists', async () => {
    const user = newUser();
    const eventId = randomUUID();
    const results = await Promise.all([add(user, eventId), add(user, eventId), add(user, eventId)]);
    expect(results.filter((r) => r.created)).to.have.length(1);
    expect(new Set(results.map((r) => r.notification.id)).size).to.equal(1);
    expect(await repo.list(user, { limit: 10 })).to.have.length(1);
  });

  it('when the head lags behind what is stored (a lost $inc on FerretDB), then the next notification still gets a higher sequence', async () => {
    const user = newUser();
    for (let i = 0; i < 5; i++) await add(user);
    await mongo.models.NotificationHead.updateOne({ _id: user }, { $set: { seq: 2 } });
    const next = await add(user);
    expect(next.created).to.equal(true);
    expect(next.notification.seq).to.equal(6);
  });

  describe('storing several of one user at once (addMany)', () => {
    const inputs = (eventIds: string[]) => eventIds.map((eventId) => ({ eventId, type: 'analysis.status', payload: { eventId }, diaryId: '7' }));
    const inboxOrder = async (user: string) => (await repo.list(user, { afterSeq: 0, limit: 50 })).map((n) => n.eventId);

    it('when nothing collides, then they get consecutive sequences in the order given', async () => {
      const user = newUser();
      await add(user);
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      const stored = await repo.addMany(user, inputs(ids));
      expect(stored.map((s) => [s.notification.seq, s.created])).to.deep.equal([[2, true], [3, true], [4, true]]);
      expect((await inboxOrder(user)).slice(1)).to.deep.equal(ids);
      expect(await repo.head(user)).to.equal(4);
    });

    it('when one of them was stored before (a redelivery), then it is answered as stored and the later ones still come after it', async () => {
      const user = newUser();
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      const first = await add(user, ids[0]);
      const stored = await repo.addMany(user, inputs(ids));
      expect(stored.map((s) => s.created)).to.deep.equal([false, true, true]);
      expect(stored[0]!.notification.id).to.equal(first.notification.id);
      expect(await inboxOrder(user)).to.deep.equal(ids);
    });

    it('when two writers store several for a new user at once (colliding first reservations), then every one is stored once and each writer keeps its order', async () => {
      const user = newUser();
      const a: string[] = [randomUUID(), randomUUID(), randomUUID()];
      const b: string[] = [randomUUID(), randomUUID(), randomUUID()];
      const [sa, sb] = await Promise.all([repo.addMany(user, inputs(a)), repo.addMany(user, inputs(b))]);
      for (const stored of [sa, sb]) {
        expect(stored.every((s) => s.created)).to.equal(true);
        const seqs = stored.map((s) => s.notification.seq);
        expect(seqs).to.deep.equal([...seqs].sort((x, y) => x - y));
      }
      const order = await inboxOrder(user);
      expect([...order].sort()).to.deep.equal([...a, ...b].sort());
      expect(order.filter((id) => a.includes(id))).to.deep.equal(a);
      expect(order.filter((id) => b.includes(id))).to.deep.equal(b);
    });

    it('when the head lags behind what is stored (a lost $inc), then every one is stored once, above what was there, in order', async () => {
      const user = newUser();
      for (let i = 0; i < 4; i++) await add(user);
      await mongo.models.NotificationHead.updateOne({ _id: user }, { $set: { seq: 2 } });
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      const stored = await repo.addMany(user, inputs(ids));
      expect(stored.every((s) => s.created)).to.equal(true);
      const seqs = stored.map((s) => s.notification.seq);
      expect(seqs[0]).to.be.above(4);
      expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
      expect((await inboxOrder(user)).slice(4)).to.deep.equal(ids);
    });
  });

  it('when an entry is deleted, then its notifications are gone from lists and replay, a redelivered event stays hidden, and their sequences are never reused', async () => {
    const user = newUser();
    await add(user, randomUUID(), 'd1');
    const doomedEvent = randomUUID();
    await add(user, doomedEvent, 'd2');
    await add(user, randomUUID(), 'd2');
    expect(await repo.removeForDiary(user, 'd2')).to.equal(2);
    // The head lags too: only the tombstones keep 2 and 3 taken.
    await mongo.models.NotificationHead.updateOne({ _id: user }, { $set: { seq: 1 } });
    const redelivered = await add(user, doomedEvent, 'd2');
    expect(redelivered.created).to.equal(false);
    expect(redelivered.notification.payload).to.deep.equal({});
    expect(redelivered.notification.ackedAt).to.not.equal(null);
    const later = await add(user, randomUUID(), 'd3');
    expect(later.notification.seq).to.equal(4);
    const stored = await mongo.models.Notification.find({ userId: user }).lean();
    expect(stored.filter((n) => n.type === 'removed').every((n) => n.diaryId === null && Object.keys(n.payload as object).length === 0)).to.equal(true);
    expect((await repo.list(user, { limit: 10 })).map((n) => n.seq)).to.deep.equal([4, 1]);
    expect((await repo.forReplay(user, 0, 10)).map((n) => n.seq)).to.deep.equal([1, 4]);
  });

  it('when a device replays after a sequence, then it gets later ones and every unacked earlier one, in order', async () => {
    const user = newUser();
    const stored = [];
    for (let i = 0; i < 5; i++) stored.push((await add(user)).notification);
    expect(await repo.ack(user, { upToSeq: 3, ids: [stored[4]!.id] })).to.equal(4);
    // seq 1-3 and 5 acked; 4 unacked.
    expect((await repo.forReplay(user, 4, 100)).map((n) => n.seq)).to.deep.equal([4, 5]);
    expect((await repo.forReplay(user, 5, 100)).map((n) => n.seq)).to.deep.equal([4]);
    expect(await repo.ack(user, { ids: ['not-an-id', stored[3]!.id, stored[3]!.id] })).to.equal(1);
    expect(await repo.forReplay(user, 5, 100)).to.deep.equal([]);
    expect((await repo.after(user, 2, 100)).map((n) => n.seq)).to.deep.equal([3, 4, 5]);
  });

  it("when a user acks another user's ids, then nothing of theirs changes", async () => {
    const [a, b] = [newUser(), newUser()];
    const mine = (await add(a)).notification;
    await add(b);
    expect(await repo.ack(b, { ids: [mine.id] })).to.equal(0);
    expect(await repo.ack(b, { upToSeq: 100 })).to.equal(1);
    expect((await repo.forReplay(a, 0, 10)).map((n) => n.id)).to.deep.equal([mine.id]);
    // A batch of device acks: each counts only for the user it was delivered to.
    expect(await repo.ackMany([{ userId: b, id: mine.id }, { userId: a, id: `${a}:99` }])).to.equal(0);
    expect(await repo.ackMany([{ userId: a, id: mine.id }])).to.equal(1);
  });

  it('when a long inbox with holes is paged newest first, then every live notification comes once, in order', async () => {
    const user = newUser();
    for (let i = 1; i <= 150; i++) await add(user, randomUUID(), i % 7 === 0 ? 'gone' : `d${i}`);
    await repo.removeForDiary(user, 'gone');
    const seen: number[] = [];
    let beforeSeq: number | undefined;
    for (;;) {
      const page = await repo.list(user, { beforeSeq, limit: 20 });
      if (page.length === 0) break;
      seen.push(...page.map((n) => n.seq));
      beforeSeq = page.at(-1)!.seq;
    }
    const live = Array.from({ length: 150 }, (_, i) => 150 - i).filter((s) => s % 7 !== 0);
    expect(seen).to.deep.equal(live);
    expect((await repo.list(user, { afterSeq: 140, limit: 5 })).map((n) => n.seq)).to.deep.equal([141, 142, 143, 144, 145]);
    expect((await repo.list(user, { unackedOnly: true, limit: 3 })).map((n) => n.seq)).to.deep.equal([150, 149, 148]);
    // Both bounds: the window between them, oldest first.
    expect((await repo.list(user, { afterSeq: 140, beforeSeq: 144, limit: 50 })).map((n) => n.seq)).to.deep.equal([141, 142, 143]);
    expect((await repo.list(user, { afterSeq: 140, beforeSeq: 144, unackedOnly: true, limit: 50 })).map((n) => n.seq)).to.deep.equal([141, 142, 143]);
    expect(await repo.list(user, { afterSeq: 144, beforeSeq: 140, limit: 50 })).to.deep.equal([]);
  });

  it('when beforeSeq is far above the head, then the page is the newest one at once (no walk over empty numbers)', async () => {
    const user = newUser();
    for (let i = 1; i <= 3; i++) await add(user);
    const started = Date.now();
    expect((await repo.list(user, { beforeSeq: 35_324_920, limit: 141 })).map((n) => n.seq)).to.deep.equal([3, 2, 1]);
    // The walk this replaced took over 10 s for this call (one point-lookup window per few hundred numbers).
    expect(Date.now() - started).to.be.below(2_000);
  });

  it('when heads of many users are read together, then each user with notifications has its own', async () => {
    const [a, b, none] = [newUser(), newUser(), newUser()];
    await add(a);
    await add(b);
    await add(b);
    const heads = await repo.heads([a, b, none]);
    expect(Object.fromEntries(heads)).to.deep.equal({ [a]: 1, [b]: 2 });
  });

  it('when a user is deleted, then their inbox and head are gone and a new one starts at 1', async () => {
    const user = newUser();
    await add(user);
    await repo.deleteForUser(user);
    expect(await repo.head(user)).to.equal(0);
    expect((await add(user)).notification.seq).to.equal(1);
  });
});
