import { expect } from 'chai';
import type { Announcement, AnnouncementRepository } from '../../../src/admin/announcement-repository.js';
import { createAnnouncementService } from '../../../src/admin/announcement-service.js';

const announcement: Announcement = { id: 'a'.repeat(24), title: 't', body: 'b', createdBy: '1', createdAt: new Date(), expiresAt: null };

/** An in-memory repository: the service's counting policy is what is under test, not the store. */
function memoryRepo() {
  const acks = new Set<string>();
  let counts = 0;
  const repo = {
    find: (id: string) => Promise.resolve(id === announcement.id ? announcement : null),
    ack: (id: string, userId: string) => {
      const key = `${id}:${userId}`;
      const fresh = !acks.has(key);
      acks.add(key);
      return Promise.resolve(fresh);
    },
    ackCount: () => {
      counts += 1;
      return Promise.resolve(acks.size);
    },
  } as unknown as AnnouncementRepository;
  return { repo, countQueries: () => counts };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('announcement ack counts for admins', () => {
  it('counts a burst of acks once and reports the final count', async () => {
    const { repo, countQueries } = memoryRepo();
    const seen: number[] = [];
    const service = createAnnouncementService({ repo, channel: () => ({ broadcast: () => undefined, ackCountChanged: (_id, n) => seen.push(n) }), ackCountIntervalMs: 30 });
    await Promise.all(Array.from({ length: 200 }, (_, i) => service.ack(String(i), announcement.id)));
    expect(await service.ack('0', announcement.id)).to.deep.equal({ newlyAcked: false });
    await sleep(80);
    expect(seen).to.deep.equal([200]);
    expect(countQueries()).to.equal(1);
  });

  it('reports an ack that arrives after a count with another count', async () => {
    const { repo } = memoryRepo();
    const seen: number[] = [];
    const service = createAnnouncementService({ repo, channel: () => ({ broadcast: () => undefined, ackCountChanged: (_id, n) => seen.push(n) }), ackCountIntervalMs: 20 });
    await service.ack('1', announcement.id);
    await sleep(60);
    await service.ack('2', announcement.id);
    await sleep(60);
    expect(seen).to.deep.equal([1, 2]);
    service.close();
  });

  it('drops a count not yet made when the service closes', async () => {
    const { repo, countQueries } = memoryRepo();
    const seen: number[] = [];
    const service = createAnnouncementService({ repo, channel: () => ({ broadcast: () => undefined, ackCountChanged: (_id, n) => seen.push(n) }), ackCountIntervalMs: 20 });
    await service.ack('1', announcement.id);
    service.close();
    await sleep(50);
    expect(seen).to.deep.equal([]);
    expect(countQueries()).to.equal(0);
  });
});
