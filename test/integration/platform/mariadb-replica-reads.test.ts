import { expect } from 'chai';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as mariadb from 'mariadb';
import request from 'supertest';
import type { AppConfig } from '../../../config/index.js';
import { waitUntil } from '../../../kernel/wait.js';
import { createWritePositions } from '../../../kernel/write-positions.js';
import { startReplicatedMariaDb, type ReplicatedMariaDb } from '../../../scripts/services/mariadb-replica.js';
import { createApiApp, type ApiApp } from '../../../src/app.js';
import { runMigrate } from '../../../src/cli/migrate-command.js';
import { testRootDir } from '../../harness/services.js';
import { dropNamespace, testConfig, testLogger, uniqueNamespace } from '../../harness/test-app.js';
import { recordViolation } from '../../harness/contract-audit.js';
import { createTestUser, type TestUser } from '../../harness/users.js';

/** Ids far above anything AUTO_INCREMENT hands out here: rows only the replica has never collide with replicated ones. */
let nextReplicaOnlyId = 9_000_000_000_000;
const replicaOnlyId = () => String(nextReplicaOnlyId++);

type ReadCounts = Record<string, number>;

/** mariadb_stale_tolerant_reads_total of the apps, summed, as "target/reason" → count. */
async function readCounts(apps: ApiApp[]): Promise<ReadCounts> {
  const out: ReadCounts = {};
  for (const app of apps) {
    for (const v of (await app.metrics.mariadbStaleReadsTotal.get()).values) {
      const key = `${v.labels.target}/${v.labels.reason}`;
      out[key] = (out[key] ?? 0) + v.value;
    }
  }
  return out;
}

const delta = (after: ReadCounts, before: ReadCounts) =>
  Object.fromEntries(Object.entries(after).flatMap(([k, v]) => (v - (before[k] ?? 0) > 0 ? [[k, v - (before[k] ?? 0)]] : [])));
const sum = (counts: ReadCounts, prefix: string) => Object.entries(counts).reduce((n, [k, v]) => (k.startsWith(prefix) ? n + v : n), 0);

describe('MariaDB replica: stale-tolerant reads on a real GTID replica, read-your-writes on every instance', function () {
  this.timeout(120_000);
  let db: ReplicatedMariaDb;
  let config: AppConfig;
  let apps: [ApiApp, ApiApp];
  let primarySql: mariadb.Connection;
  let replicaSql: mariadb.Connection;
  let namespace: string;

  const day = 86_400_000;
  const range = () => ({ from: new Date(Date.now() - day).toISOString(), to: new Date(Date.now() + day).toISOString() });

  /** Resolves once the replica has applied everything the primary committed so far. */
  async function replicaCaughtUp(timeoutSec = 20): Promise<void> {
    const [primary] = (await primarySql.query('SELECT @@global.gtid_binlog_pos AS position')) as Array<{ position: string }>;
    const [replica] = (await replicaSql.query('SELECT MASTER_GTID_WAIT(?, ?) AS reached', [primary!.position, timeoutSec])) as Array<{ reached: number }>;
    expect(Number(replica!.reached), `replica reached ${primary!.position}`).to.equal(0);
  }

  const listIds = async (app: ApiApp, user: TestUser) => {
    const res = await request(app.server).get('/api/v1/diaries?limit=100').set(user.auth);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return (res.body.items as Array<{ id: string }>).map((d) => d.id);
  };
  const emotionTotal = async (app: ApiApp, user: TestUser) => {
    const res = await request(app.server).get('/api/v1/stats/emotions').query(range()).set(user.auth);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return (res.body.buckets as Array<{ total: number }>).reduce((n, b) => n + b.total, 0);
  };
  const createDiary = async (app: ApiApp, user: TestUser, content: string) => {
    const res = await request(app.server).post('/api/v1/diaries').set(user.auth).send({ content });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return String(res.body.id);
  };

  before(async function () {
    const root = path.join(testRootDir(), `replicated-mariadb-${Date.now()}`);
    mkdirSync(root, { recursive: true });
    const started = Date.now();
    db = await startReplicatedMariaDb(root, path.join(testRootDir(), 'logs'));
    namespace = uniqueNamespace('replica');
    config = testConfig(
      namespace,
      // A short probe interval so the tests see state changes quickly; a lag bound the 2 s MASTER_DELAY stays within.
      { mariadb: { replica: { maxLagSec: 5, probeIntervalMs: 200, readYourWritesWaitMs: 150 } } },
      { MARIADB_URL: `${db.primary.url}/${namespace}`, MARIADB_REPLICA_URL: `${db.replica.url}/${namespace}` },
    );
    const log = testLogger(config);
    await runMigrate(config, log, 'up');
    primarySql = await mariadb.createConnection({ host: '127.0.0.1', port: db.primary.port, user: 'root', database: namespace });
    replicaSql = await db.replicaAdmin();
    await replicaCaughtUp();
    await replicaSql.query(`USE \`${namespace}\``);
    // Two API instances on the same databases, Redis and topics: a write on one, the read on the other.
    const make = async (instance: string) => {
      const app = await createApiApp({ ...config, app: { ...config.app, instanceId: `${namespace}-${instance}` } }, { log, responseAudit: recordViolation });
      await app.start();
      return app;
    };
    apps = [await make('a'), await make('b')];
    expect(apps.map((a) => a.replicaHealth?.state())).to.deep.equal(['healthy', 'healthy']);
    console.log(`      primary + replica + 2 API instances ready in ${Date.now() - started} ms`);
  });

  after(async function () {
    for (const app of apps ?? []) await app.stop().catch(() => undefined);
    if (config) await dropNamespace(config).catch(() => undefined);
    await primarySql?.end().catch(() => undefined);
    await db?.stop();
  });

  it('when a write position is remembered out of order, then the stored one never goes back (per GTID domain)', async function () {
    const positions = createWritePositions(apps[0].clients.redis, 10_000, `${namespace}-positions-test`);
    await positions.remember('u', '0-1-10');
    await positions.remember('u', '0-1-9');
    expect(await positions.get('u')).to.equal('0-1-10');
    await positions.remember('u', '1-2-5,0-1-11');
    await positions.remember('u', '0-1-100000000000000000009,1-2-4');
    expect(await positions.get('u')).to.equal('0-1-100000000000000000009,1-2-5');
  });

  it('when nobody wrote lately, then lists, stats, the report list and the admin list come from the replica, and point reads from the primary', async function () {
    const [a, b] = apps;
    const owner = await createTestUser(a);
    const admin = await createTestUser(a, { role: 'ADMIN' });
    const report = await request(a.server).post('/api/v1/reports').set(owner.auth).send(range());
    expect(report.status, JSON.stringify(report.body)).to.equal(201);
    await replicaCaughtUp();

    // Rows written on the replica alone (never on the primary): only a read the replica answers can show them.
    const diaryId = replicaOnlyId();
    const reportId = replicaOnlyId();
    const userId = replicaOnlyId();
    await replicaSql.query(
      `INSERT INTO diaries (id, user_id, title, content, revision, analysis_status, analyzed_revision, status_revision, emotion_status, is_negative, created_at, updated_at)
       VALUES (?, ?, 'replica only', 'written on the replica only', 1, 'COMPLETED', 1, 1, 'NEGATIVE', 1, NOW(3), NOW(3))`,
      [diaryId, owner.userId],
    );
    await replicaSql.query(
      `INSERT INTO thought_records (diary_id, user_id, analysis_revision, analyzer, analyzer_version, language, content_sha256, thoughts, own_thoughts,
         emotions_before, emotions_after, evidence_for, evidence_against, balanced_thought)
       VALUES (?, ?, 1, 'offline', 'test', 'en', REPEAT('0', 64), '[]', '[]', '[{"name":"sadness","rating":80}]', '[{"name":"sadness","rating":30}]', '', '', '')`,
      [diaryId, owner.userId],
    );
    await replicaSql.query('INSERT INTO reports (id, user_id, period_start, period_end, summary, created_at, updated_at) SELECT ?, user_id, period_start, period_end, summary, created_at, updated_at FROM reports WHERE id = ?', [
      reportId,
      report.body.id,
    ]);
    await replicaSql.query(`INSERT INTO users (id, email, username, nickname, role, status, is_premium, created_at, updated_at) VALUES (?, ?, ?, 'Replica Only', 'USER', 'ACTIVE', 0, NOW(3), NOW(3))`, [
      userId,
      `replicaonly${userId}@example.test`,
      `replicaonly${userId}`,
    ]);
    try {
      const before = await readCounts(apps);
      expect(await listIds(b, owner)).to.include(diaryId);
      expect(await emotionTotal(b, owner)).to.equal(1);
      const tr = await request(b.server).get('/api/v1/thought-records/stats').query(range()).set(owner.auth);
      expect(tr.status, JSON.stringify(tr.body)).to.equal(200);
      expect(tr.body.totals.records).to.equal(1);
      expect(tr.body.ratings).to.include({ averageBefore: 80, averageAfter: 30 });
      const reports = await request(b.server).get('/api/v1/reports').set(owner.auth);
      expect(reports.status).to.equal(200);
      expect(reports.body.items.map((r: { id: string }) => r.id)).to.have.members([String(report.body.id), reportId]);
      const users = await request(b.server).get('/api/v1/admin/users').query({ q: 'replicaonly' }).set(admin.auth);
      expect(users.status).to.equal(200);
      expect(users.body.items.map((u: { id: string }) => u.id)).to.deep.equal([userId]);
      // The owner generated a report moments ago: their four reads waited for that write's position (caught_up).
      const counts = delta(await readCounts(apps), before);
      expect(counts, JSON.stringify(counts)).to.deep.equal({ 'replica/caught_up': 4, 'replica/no_recent_write': 1 });

      // What a client reads right after its own write, and what auth decides on, is the primary's.
      expect((await request(b.server).get(`/api/v1/diaries/${diaryId}`).set(owner.auth)).status).to.equal(404);
      expect((await request(b.server).get(`/api/v1/reports/${reportId}`).set(owner.auth)).status).to.equal(404);
      expect((await request(b.server).get(`/api/v1/admin/users/${userId}`).set(admin.auth)).status).to.equal(404);
    } finally {
      await replicaSql.query('DELETE FROM thought_records WHERE diary_id = ?', [diaryId]);
      await replicaSql.query('DELETE FROM diaries WHERE id = ?', [diaryId]);
      await replicaSql.query('DELETE FROM reports WHERE id = ?', [reportId]);
      await replicaSql.query('DELETE FROM users WHERE id = ?', [userId]);
    }
  });

  it("when a user writes on one instance and reads at once on the other, then the read always has the write, also with replication delayed; others' writes show late", async function () {
    const writer = await createTestUser(apps[0]);
    const other = await createTestUser(apps[0]);
    const admin = await createTestUser(apps[0], { role: 'ADMIN' });
    const blocked = await createTestUser(apps[0]);
    await replicaCaughtUp();
    const mine: string[] = [];
    /** One round: a write on one instance, the list and the stats at once on the other. */
    const round = async (i: number) => {
      const [w, r] = i % 2 === 0 ? apps : [apps[1], apps[0]];
      mine.push(await createDiary(w, writer, `entry ${i}`));
      const ids = await listIds(r, writer);
      expect(ids, `round ${i}: the list has the entry just written`).to.include(mine.at(-1));
      expect(ids).to.have.length(mine.length);
      expect(await emotionTotal(r, writer), `round ${i}: the stats count it`).to.equal(mine.length);
    };

    // Replication as it is (milliseconds behind): the replica waits for the writer's position and answers.
    let before = await readCounts(apps);
    for (let i = 0; i < 10; i++) await round(i);
    const live = delta(await readCounts(apps), before);
    expect(live['replica/caught_up'] ?? 0, JSON.stringify(live)).to.be.greaterThan(0);

    // Replication 2 s behind (MASTER_DELAY), within the 5 s bound: the probe still calls the replica healthy.
    await db.setDelay(2);
    await waitUntil('replica healthy with the delay', () => apps.every((a) => a.replicaHealth?.state() === 'healthy'), 10_000, 50);
    before = await readCounts(apps);
    for (let i = 10; i < 20; i++) await round(i);
    // The admin's own change shows at once in the admin's list, on the other instance.
    const block = await request(apps[0].server).post(`/api/v1/admin/users/${blocked.userId}/block`).set(admin.auth);
    expect(block.status, JSON.stringify(block.body)).to.equal(200);
    const users = await request(apps[1].server).get('/api/v1/admin/users').query({ status: 'BLOCKED', limit: 100 }).set(admin.auth);
    expect(users.body.items.map((u: { id: string }) => u.id)).to.include(blocked.userId);
    // A write outside the reader's session (straight into the primary) is not on the replica yet...
    const [inserted] = [(await primarySql.query("INSERT INTO diaries (user_id, content) VALUES (?, 'written behind the API')", [other.userId])) as { insertId: bigint }];
    const foreignId = String(inserted.insertId);
    expect(await listIds(apps[1], other), 'stale for a reader who did not write it').to.not.include(foreignId);
    // ...and arrives once the delay has passed.
    await waitUntil('the row written behind the API reaches the replica', async () => (await listIds(apps[1], other)).includes(foreignId), 15_000, 250);
    const delayed = delta(await readCounts(apps), before);
    expect(delayed['fallback/behind_writer'] ?? 0, JSON.stringify(delayed)).to.be.greaterThan(0);
    expect(Object.keys(delayed).filter((k) => /replica_(lagging|down|not_replicating|error)/.test(k)), JSON.stringify(delayed)).to.deep.equal([]);
    console.log(`      reads with replication live: ${JSON.stringify(live)}; with a 2 s delay: ${JSON.stringify(delayed)}`);
  });

  it('when the replica falls behind the lag bound or stops replicating, then everyone reads from the primary', async function () {
    const writer = await createTestUser(apps[0]);
    const reader = await createTestUser(apps[0]);
    await replicaCaughtUp();
    // 8 s behind with a 5 s bound: once a write is older than the bound and not applied, the probe says lagging.
    await db.setDelay(8);
    try {
      const started = Date.now();
      await waitUntil(
        'the probe finds the replica lagging',
        async () => {
          await createDiary(apps[0], writer, 'keeps the primary moving');
          return apps.every((a) => a.replicaHealth?.state() === 'lagging');
        },
        20_000,
        250,
      );
      const before = await readCounts(apps);
      const [row] = [(await primarySql.query("INSERT INTO diaries (user_id, content) VALUES (?, 'fresh on the primary')", [reader.userId])) as { insertId: bigint }];
      expect(await listIds(apps[1], reader), 'served by the primary').to.include(String(row.insertId));
      expect(delta(await readCounts(apps), before)).to.deep.equal({ 'fallback/replica_lagging': 1 });
      console.log(`      lagging detected ${Date.now() - started} ms after an 8 s MASTER_DELAY was set (bound 5 s)`);
    } finally {
      await db.setDelay(0);
    }
    await replicaCaughtUp();
    await waitUntil('replica healthy again', () => apps.every((a) => a.replicaHealth?.state() === 'healthy'), 10_000, 50);

    await replicaSql.query('STOP SLAVE SQL_THREAD');
    try {
      await waitUntil('the probe finds replication stopped', () => apps.every((a) => a.replicaHealth?.state() === 'not_replicating'), 10_000, 50);
      const before = await readCounts(apps);
      const [row] = [(await primarySql.query("INSERT INTO diaries (user_id, content) VALUES (?, 'not replicated')", [reader.userId])) as { insertId: bigint }];
      expect(await listIds(apps[0], reader)).to.include(String(row.insertId));
      expect(delta(await readCounts(apps), before)).to.deep.equal({ 'fallback/replica_not_replicating': 1 });
    } finally {
      await replicaSql.query('START SLAVE SQL_THREAD');
    }
    await replicaCaughtUp();
  });

  it('when the replica server goes down, then every stale-tolerant read is answered by the primary (no 5xx), and the replica is used again once back', async function () {
    const user = await createTestUser(apps[0]);
    const admin = await createTestUser(apps[0], { role: 'ADMIN' });
    const written = await createDiary(apps[0], user, 'before the replica went down');
    await replicaCaughtUp();
    await waitUntil('replica healthy', () => apps.every((a) => a.replicaHealth?.state() === 'healthy'), 10_000, 50);

    await replicaSql.end().catch(() => undefined);
    await db.replica.stop();
    const before = await readCounts(apps);
    const statuses: number[] = [];
    // Straight after the stop, before any probe noticed: the first reads meet the dead replica themselves.
    for (let i = 0; i < 5; i++) {
      for (const app of apps) {
        statuses.push((await request(app.server).get('/api/v1/diaries').set(user.auth)).status);
        statuses.push((await request(app.server).get('/api/v1/stats/emotions').query(range()).set(user.auth)).status);
        statuses.push((await request(app.server).get('/api/v1/thought-records/stats').query(range()).set(user.auth)).status);
        statuses.push((await request(app.server).get('/api/v1/reports').set(user.auth)).status);
        statuses.push((await request(app.server).get('/api/v1/admin/users').set(admin.auth)).status);
      }
    }
    expect(statuses.filter((s) => s !== 200)).to.deep.equal([]);
    expect(await listIds(apps[1], user)).to.include(written);
    expect((await request(apps[1].server).get('/readyz')).status, 'the replica is not a readiness dependency').to.equal(200);
    const down = delta(await readCounts(apps), before);
    expect(sum(down, 'replica/'), JSON.stringify(down)).to.equal(0);
    expect(sum(down, 'fallback/'), JSON.stringify(down)).to.equal(statuses.length + 1);
    expect(Object.keys(down).every((k) => k === 'fallback/replica_error' || k === 'fallback/replica_down'), JSON.stringify(down)).to.equal(true);

    const stopped = Date.now();
    await db.replica.start();
    await db.waitUntilReplicating();
    replicaSql = await db.replicaAdmin();
    await replicaSql.query(`USE \`${namespace}\``);
    await waitUntil('both instances read from the replica again', () => apps.every((a) => a.replicaHealth?.state() === 'healthy'), 15_000, 50);
    const back = await readCounts(apps);
    expect(await listIds(apps[1], user)).to.include(written);
    expect(sum(delta(await readCounts(apps), back), 'replica/')).to.equal(1);
    console.log(`      replica down: ${JSON.stringify(down)} over ${statuses.length + 1} reads; back in service ${Date.now() - stopped} ms after its restart began`);
  });
});
