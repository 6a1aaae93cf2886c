import { expect } from 'chai';
import { tcpOpen } from '../../scripts/services/index.js';
import { startCluster, roamingDevice, type Cluster, type RoamingDevice } from '../harness/cluster.js';
import { connectAdmin, connectDevice, connectError } from '../harness/socket-client.js';
import { createTestUser, type TestUser } from '../harness/users.js';
import { redisMode } from '../harness/services.js';
import { runRedisPrimaryKill } from '../harness/redis-primary-kill.js';

/**
 * Three API processes and two worker processes on real MariaDB, MongoDB (wire), Kafka and Redis.
 * Every scenario checks the same property: each status event of each entry reaches every device
 * of its writer, whatever instance the device is on and whatever fails in between.
 */
/**
 * `npm test` runs this file twice: on one Redis, and (TEST_REDIS=cluster) on a Redis Cluster of 3
 * primaries and 3 replicas with the sharded pub/sub adapter, where it also kills a primary mid-run.
 */
describe(`cluster: 3 API processes, 2 workers, ${redisMode() === 'cluster' ? 'Redis Cluster (3 primaries + 3 replicas)' : 'one Redis'}`, function () {
  this.timeout(180_000);
  let cluster: Cluster;

  before(async function () {
    this.timeout(180_000);
    cluster = await startCluster({ apis: 3, workers: 2 });
  });

  after(async () => {
    await cluster?.stop();
  });

  const urls = () => cluster.apis.map((a) => a.url);

  async function write(via: string, user: TestUser, content: string): Promise<string> {
    const res = await fetch(`${via}/api/v1/diaries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` },
      body: JSON.stringify({ content }),
    });
    if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  }

  /** Every diary has its PROCESSING and COMPLETED on this device (deduplicated). */
  const hasAll = (device: RoamingDevice, diaryIds: string[]) => {
    const got = new Set(device.notifications.map((n) => `${String(n.payload.diaryId)}:${String(n.payload.status)}`));
    return diaryIds.every((id) => got.has(`${id}:PROCESSING`) && got.has(`${id}:COMPLETED`));
  };
  const missing = (device: RoamingDevice, diaryIds: string[]) => {
    const got = new Set(device.notifications.map((n) => `${String(n.payload.diaryId)}:${String(n.payload.status)}`));
    return diaryIds.flatMap((id) => ['PROCESSING', 'COMPLETED'].map((s) => `${id}:${s}`)).filter((k) => !got.has(k));
  };

  it('when a user has two devices on different instances, then both get every status event of entries written through a third', async () => {
    const user = await createTestUser(cluster.users);
    const phone = await roamingDevice(urls(), user.accessToken, 0);
    const laptop = await roamingDevice(urls(), user.accessToken, 1);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push(await write(cluster.apis[2]!.url, user, `Entry ${i}: today I felt anxious but my friend made me laugh.`));
      for (const device of [phone, laptop]) await device.waitFor(`all events (${missing(device, ids).join(',')})`, () => hasAll(device, ids), 20_000);
      expect(phone.connections).to.deep.equal([cluster.apis[0]!.url]);
      expect(laptop.connections).to.deep.equal([cluster.apis[1]!.url]);
      for (const device of [phone, laptop]) {
        const seqs = device.notifications.map((n) => n.seq);
        expect(new Set(seqs).size).to.equal(seqs.length);
      }
    } finally {
      phone.close();
      laptop.close();
    }
  });

  it('when an admin watches on one instance, then activity from the other two shows up, and a snapshot counts every instance', async () => {
    const adminUser = await createTestUser(cluster.users, { role: 'ADMIN' });
    const admin = await connectAdmin(cluster.apis[0]!.url, adminUser.accessToken);
    const user = await createTestUser(cluster.users);
    try {
      const viaSecond = await write(cluster.apis[1]!.url, user, 'written through the second instance');
      const viaThird = await write(cluster.apis[2]!.url, user, 'written through the third instance');
      await admin.waitFor('writes from both other instances', () => {
        const created = admin.activity.filter((e) => e.type === 'diary.created');
        return created.some((e) => e.diaryId === viaSecond && e.instanceId === 'api-2') && created.some((e) => e.diaryId === viaThird && e.instanceId === 'api-3');
      });
      await admin.waitFor('analysis outcomes', () => admin.activity.filter((e) => e.type === 'analysis.completed' && [viaSecond, viaThird].includes(e.diaryId!)).length === 2);
      await admin.waitFor('socket counts from every instance', () => new Set(admin.activity.filter((e) => e.type === 'instance.sockets').map((e) => e.instanceId)).size === 3);
      const snapshot = (await admin.socket.timeout(10_000).emitWithAck('activity:snapshot', {})) as { instances: Array<{ instanceId: string }>; partial: boolean };
      expect(snapshot.partial).to.equal(false);
      expect(snapshot.instances.map((i) => i.instanceId)).to.deep.equal(['api-1', 'api-2', 'api-3']);

      // A hung instance (stopped, still subscribed) makes the snapshot partial, not stuck.
      cluster.apis[2]!.child.kill('SIGSTOP');
      try {
        const started = Date.now();
        const partial = (await admin.socket.timeout(10_000).emitWithAck('activity:snapshot', {})) as { instances: Array<{ instanceId: string }>; partial: boolean };
        expect(partial.partial).to.equal(true);
        expect(partial.instances.map((i) => i.instanceId)).to.deep.equal(['api-1', 'api-2']);
        expect(Date.now() - started).to.be.below(6_000);
      } finally {
        cluster.apis[2]!.child.kill('SIGCONT');
      }
    } finally {
      admin.close();
    }
  });

  it('when bad, expired or forged tokens connect to any instance, then they get connect_error', async () => {
    for (const url of urls()) {
      expect((await connectError(url, { token: 'forged.token.value' })).message).to.equal('unauthorized');
      expect((await connectError(url, {})).message).to.equal('unauthorized');
    }
  });

  it('when an admin blocks a user through one instance, then that user\'s sockets on the other instances are disconnected', async () => {
    const adminUser = await createTestUser(cluster.users, { role: 'ADMIN' });
    const user = await createTestUser(cluster.users);
    const devices = [await connectDevice(cluster.apis[0]!.url, user.accessToken), await connectDevice(cluster.apis[1]!.url, user.accessToken)];
    const disconnected = devices.map((d) => new Promise<string>((resolve) => d.socket.once('disconnect', resolve)));
    const res = await fetch(`${cluster.apis[2]!.url}/api/v1/admin/users/${user.userId}/block`, { method: 'POST', headers: { authorization: `Bearer ${adminUser.accessToken}` } });
    expect(res.status).to.equal(200);
    expect(await Promise.all(disconnected)).to.deep.equal(['io server disconnect', 'io server disconnect']);
    for (const device of devices) expect(device.notices.map((n) => n.code)).to.include('session_revoked');
    expect((await connectError(cluster.apis[0]!.url, { token: user.accessToken })).message).to.be.oneOf(['unauthorized', 'forbidden']);
  });

  it('when Redis restarts mid-run, then no notification is lost', async () => {
    const user = await createTestUser(cluster.users);
    const phone = await roamingDevice(urls(), user.accessToken, 0);
    const laptop = await roamingDevice(urls(), user.accessToken, 2);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await write(cluster.apis[1]!.url, user, `Before the Redis restart ${i}: a hard but okay day.`));
      await cluster.redis.stop();
      await new Promise((r) => setTimeout(r, 3_000));
      await cluster.redis.start();
      // Writes need Redis (token checks); once it is back, more entries go through.
      for (let i = 0; i < 4; i++) {
        const id = await retry(() => write(cluster.apis[1]!.url, user, `After the Redis restart ${i}: better.`));
        ids.push(id);
      }
      for (const device of [phone, laptop]) await device.waitFor(`all events after Redis restart (${missing(device, ids).join(',')})`, () => hasAll(device, ids), 30_000);
    } finally {
      phone.close();
      laptop.close();
    }
  });

  if (redisMode() === 'cluster') {
    it('when the Redis primary serving the notification channel and some users\' keys is SIGKILLed mid-run, then a replica takes over, no notification is lost and nobody is logged out', async function () {
      this.timeout(240_000);
      const figures = await runRedisPrimaryKill(cluster, { diaries: 30, writeIntervalMs: 250, killAfterWrites: 8 });
      console.log(`      ${figures.summary}`);
      expect(figures.lost, `missing per device: ${figures.missing.join(', ')}`).to.equal(0);
      expect(figures.loggedOut, 'refreshes answered 401/403').to.equal(0);
      expect(figures.finalChecks, 'every user refreshes, reads /users/me and connects after the failover').to.equal(figures.users);
      expect(figures.promoted, 'a replica of the killed primary serves its slots').to.equal(true);
      expect(figures.socketsDisconnected, 'sockets dropped by the server').to.equal(0);
    });
  }

  it('when Kafka restarts mid-run, then entries written while it was down are analysed and no notification is lost', async () => {
    const user = await createTestUser(cluster.users);
    const phone = await roamingDevice(urls(), user.accessToken, 1);
    const laptop = await roamingDevice(urls(), user.accessToken, 2);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await write(cluster.apis[0]!.url, user, `Before the Kafka restart ${i}: a long day at work.`));
      await cluster.kafka.stop();
      expect(await tcpOpen(cluster.kafka.port), 'broker stopped').to.equal(false);
      // The outbox keeps accepting entries while the broker is away.
      for (let i = 0; i < 4; i++) ids.push(await write(cluster.apis[i % 3]!.url, user, `While Kafka is down ${i}: I worry I will never catch up.`));
      await new Promise((r) => setTimeout(r, 3_000));
      await cluster.kafka.start();
      for (let i = 0; i < 2; i++) ids.push(await retry(() => write(cluster.apis[2]!.url, user, `After the Kafka restart ${i}: calmer now.`)));
      for (const device of [phone, laptop]) await device.waitFor(`all events after Kafka restart (${missing(device, ids).join(',')})`, () => hasAll(device, ids), 60_000);
    } finally {
      phone.close();
      laptop.close();
    }
  });

  it('when an API instance is killed mid-run, then its clients reconnect to another instance, replay, and lose nothing', async () => {
    const user = await createTestUser(cluster.users);
    const onVictim = await roamingDevice(urls(), user.accessToken, 0);
    const elsewhere = await roamingDevice(urls(), user.accessToken, 1);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await write(cluster.apis[2]!.url, user, `Before the crash ${i}: I keep thinking everyone hates me.`));
      await cluster.apis[0]!.kill();
      for (let i = 0; i < 5; i++) ids.push(await write(cluster.apis[2]!.url, user, `After the crash ${i}: it was fine in the end.`));
      await onVictim.waitFor('reconnected elsewhere', () => onVictim.connections.length >= 2 && onVictim.connected(), 30_000);
      expect(onVictim.connections[1]).not.to.equal(cluster.apis[0]!.url);
      for (const device of [onVictim, elsewhere]) await device.waitFor(`all events after the crash (${missing(device, ids).join(',')})`, () => hasAll(device, ids), 30_000);
    } finally {
      onVictim.close();
      elsewhere.close();
      await cluster.startApi(0);
    }
  });

  it('when an API instance shuts down gracefully, then its clients are told, move to another instance and lose nothing', async () => {
    const user = await createTestUser(cluster.users);
    const device = await roamingDevice(urls(), user.accessToken, 1);
    try {
      const first = await write(cluster.apis[0]!.url, user, 'before the restart');
      await cluster.apis[1]!.stop();
      const second = await write(cluster.apis[0]!.url, user, 'after the restart');
      await device.waitFor('moved', () => device.connections.length >= 2 && device.connected(), 30_000);
      expect(device.notices.map((n) => n.code)).to.include('shutdown');
      await device.waitFor('all events', () => hasAll(device, [first, second]), 20_000);
    } finally {
      device.close();
      await cluster.startApi(1);
    }
  });
});

async function retry<T>(fn: () => Promise<T>, attempts = 30): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
