import { expect } from 'chai';
import { createAnnouncementRepository, type AnnouncementRepository } from '../../../src/announcements/announcement-repository.js';
import { createAnnouncementAcks } from '../../../src/announcements/announcement-acks.js';
import { createAnnouncementQueries } from '../../../src/announcements/announcement-service.js';
import { useMongoStore } from '../../harness/mongo-store.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ack counts for admins: kept in per-instance counters, written once per burst, never recounted. */
describe('announcement ack counts for admins (real store)', () => {
  const mongo = useMongoStore('ackcount');
  let repo: AnnouncementRepository;

  before(() => {
    repo = createAnnouncementRepository(mongo.models);
  });

  /** The service over the real repository, with every counter write it makes recorded. */
  function serviceCounting(intervalMs: number, counterId = 'instance-a') {
    const seen: number[] = [];
    let writes = 0;
    const counted: AnnouncementRepository = {
      ...repo,
      addAcks: (id, counter, n) => {
        writes += 1;
        return repo.addAcks(id, counter, n);
      },
    };
    const service = createAnnouncementAcks({
      repo: counted,
      counterId,
      counts: { ackCountChanged: (_id, n) => void seen.push(n) },
      ackCountIntervalMs: intervalMs,
    });
    return { service, seen, writes: () => writes };
  }

  const announce = () => repo.create({ title: 't', body: 'b', createdBy: '1' });

  it('when a burst of acks arrives, then the counter is written once and admins see the final count', async () => {
    // The count is written one interval after the burst's first ack: the interval must outlast the
    // burst's 50 store writes, which took more than 100 ms on a loaded machine (the count came as 40, 50).
    const { service, seen, writes } = serviceCounting(1_000);
    const { id } = await announce();
    await Promise.all(Array.from({ length: 50 }, (_, i) => service.ack(String(i), id)));
    expect(await service.ack('0', id)).to.deep.equal({ newlyAcked: false });
    await sleep(1_400);
    expect(seen).to.deep.equal([50]);
    expect(writes()).to.equal(1);
    expect((await repo.ackCounts([id])).get(id)).to.equal(50);
  });

  it('when an ack arrives after a count, then admins get another count', async () => {
    const { service, seen } = serviceCounting(50);
    const { id } = await announce();
    await service.ack('1', id);
    await sleep(250);
    await service.ack('2', id);
    await sleep(250);
    expect(seen).to.deep.equal([1, 2]);
    await service.close();
  });

  it('when the service closes, then a count not yet written is written', async () => {
    const { service, seen, writes } = serviceCounting(60_000);
    const { id } = await announce();
    await service.ack('1', id);
    await service.close();
    expect(writes()).to.equal(1);
    expect(seen).to.deep.equal([1]);
  });

  it('when two instances count acks of one announcement, then admins see the sum of both counters', async () => {
    const a = serviceCounting(50, 'instance-a');
    const b = serviceCounting(50, 'instance-b');
    const { id } = await announce();
    await Promise.all([...['1', '2', '3'].map((u) => a.service.ack(u, id)), ...['4', '5'].map((u) => b.service.ack(u, id)), b.service.ack('1', id)]);
    await sleep(300);
    expect((await repo.ackCounts([id])).get(id)).to.equal(5);
    expect((await createAnnouncementQueries(repo).listWithCounts(100)).find((x) => x.id === id)?.acks).to.equal(5);
    expect(Math.max(...a.seen, ...b.seen)).to.equal(5);
  });

  it('when device acks arrive in a burst, repeats and acks stored before among them, then they are written together and each user is counted once', async () => {
    const { service, seen, writes } = serviceCounting(50);
    let batches = 0;
    const { id } = await announce();
    await service.ack('1', id); // acknowledged over REST before
    const spied = createAnnouncementAcks({
      repo: {
        ...repo,
        ackMany: (acks) => {
          batches += 1;
          return repo.ackMany(acks);
        },
      },
      counterId: 'instance-a',
      counts: { ackCountChanged: (_id, n) => void seen.push(n) },
      ackCountIntervalMs: 50,
    });
    for (const user of ['1', '2', '3', '2', '4']) spied.deviceAcked(user, id);
    await sleep(300);
    expect(batches).to.equal(1);
    expect((await repo.ackCounts([id])).get(id)).to.equal(4);
    expect(Math.max(...seen)).to.equal(4);
    expect(writes()).to.equal(1);
    expect(await repo.ackedIds('3', [id])).to.deep.equal(new Set([id]));
    await Promise.all([service.close(), spied.close()]);
  });

  it('when an unknown announcement is acknowledged, then it is a not-found and nothing is counted', async () => {
    const { service, writes } = serviceCounting(50);
    let error: unknown;
    await service.ack('1', 'ffffffffffffffffffffffff').catch((err: unknown) => (error = err));
    expect((error as { status?: number }).status).to.equal(404);
    expect(writes()).to.equal(0);
  });
});
