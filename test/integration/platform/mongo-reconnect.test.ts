import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Connection } from 'mongoose';
import { connectMongo, watchMongoConnection } from '../../../kernel/clients/mongo.js';
import { freePort } from '../../../scripts/services/index.js';
import { startMongoWire, type MongoWireService } from '../../../scripts/services/mongo.js';
import { testLogger, testConfig, uniqueNamespace } from '../../harness/test-app.js';

/**
 * The chaos soak found that the driver can stop reaching a MongoDB-wire server that restarted
 * under load, for good. The connection watch reopens it: writes go through again soon after every
 * restart.
 */
describe('mongo connection through store restarts', function () {
  this.timeout(180_000);
  let dir: string;
  let store: MongoWireService;
  let conn: Connection;
  let watch: { stop(): void };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mongo-restart-'));
    store = await startMongoWire(path.join(dir, 'store'), await freePort(), dir, { ferretdb: true });
    const config = testConfig(uniqueNamespace('reconnect'));
    const url = `${store.url}/reconnect`;
    conn = await connectMongo({ mongo: { ...config.mongo, url } });
    watch = watchMongoConnection(conn, url, testLogger(config), { intervalMs: 1_000, failuresBeforeProbe: 3 });
  });

  after(async () => {
    watch?.stop();
    await conn?.close(true).catch(() => undefined);
    await store?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the store restarts three times while writes run, then writes succeed again within 20 s of each restart', async () => {
    let stop = false;
    let lastOk = Date.now();
    const lanes = Array.from({ length: 6 }, async (_, lane) => {
      while (!stop) {
        try {
          await conn.db!.collection('writes').insertMany([{ lane, at: new Date() }, { lane }]);
          await conn.db!.collection('writes').findOne({ lane });
          lastOk = Date.now();
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    });
    const recoveries: number[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        await store.stop();
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await store.start();
        const back = Date.now();
        while (lastOk < back && Date.now() - back < 20_000) await new Promise((resolve) => setTimeout(resolve, 100));
        recoveries.push(lastOk >= back ? lastOk - back : Number.POSITIVE_INFINITY);
      }
    } finally {
      stop = true;
      await Promise.all(lanes);
    }
    expect(recoveries.every((ms) => ms < 20_000), `ms until the first write after each restart: ${recoveries.join(', ')}`).to.equal(true);
  });
});
