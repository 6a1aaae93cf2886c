import { expect } from 'chai';
import type { Connection } from 'mongoose';
import type { AppConfig } from '../../../config/index.js';
import { defineMongoModels, syncMongoIndexes } from '../../../models/mongo/index.js';
import { createAnnouncementRepository, type AnnouncementRepository } from '../../../src/admin/announcement-repository.js';
import { createAnnouncementService } from '../../../src/admin/announcement-service.js';
import { connectMongo } from '../../../src/platform/mongo.js';
import { dropNamespace, testConfig, uniqueNamespace } from '../../harness/test-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ack counts for admins are coalesced: one count per burst, always ending at the stored total. */
describe('announcement ack counts for admins (real store)', () => {
  let config: AppConfig;
  let conn: Connection;
  let repo: AnnouncementRepository;

  before(async () => {
    config = testConfig(uniqueNamespace('ackcount'));
    conn = await connectMongo(config);
    const models = defineMongoModels(conn);
    await syncMongoIndexes(models);
    repo = createAnnouncementRepository(models);
  });

  after(async () => {
    await conn.close();
    await dropNamespace(config);
  });

  /** The service over the real repository, with every count it makes recorded. */
  function serviceCounting(intervalMs: number) {
    const seen: number[] = [];
    let countQueries = 0;
    const counted: AnnouncementRepository = {
      ...repo,
      ackCount: (id) => {
        countQueries += 1;
        return repo.ackCount(id);
      },
    };
    const service = createAnnouncementService({ repo: counted, channel: () => ({ broadcast: () => undefined, ackCountChanged: (_id, n) => seen.push(n) }), ackCountIntervalMs: intervalMs });
    return { service, seen, countQueries: () => countQueries };
  }

  const announce = () => repo.create({ title: 't', body: 'b', createdBy: '1' });

  it('when a burst of acks arrives, then the store is counted once and admins see the final count', async () => {
    const { service, seen, countQueries } = serviceCounting(100);
    const { id } = await announce();
    await Promise.all(Array.from({ length: 50 }, (_, i) => service.ack(String(i), id)));
    expect(await service.ack('0', id)).to.deep.equal({ newlyAcked: false });
    await sleep(300);
    expect(seen).to.deep.equal([50]);
    expect(countQueries()).to.equal(1);
  });

  it('when an ack arrives after a count, then admins get another count', async () => {
    const { service, seen } = serviceCounting(50);
    const { id } = await announce();
    await service.ack('1', id);
    await sleep(200);
    await service.ack('2', id);
    await sleep(200);
    expect(seen).to.deep.equal([1, 2]);
    service.close();
  });

  it('when the service closes, then a count not yet made is dropped', async () => {
    const { service, seen, countQueries } = serviceCounting(50);
    const { id } = await announce();
    await service.ack('1', id);
    service.close();
    await sleep(150);
    expect(seen).to.deep.equal([]);
    expect(countQueries()).to.equal(0);
  });
});
