/**
 * Store scale: the hot operations of the inbox, announcement acks and analyses, measured one call
 * at a time while the collections grow from 1k to 1M notifications (10k users; other collections
 * up to 100k documents). A store whose per-user queries scan the collection shows it here as a
 * p99 that grows with the size; the target is flat (p99 at 1M within 2x of 1k, under 20 ms).
 *
 *   npx tsx bench/store-scale.ts [--sizes 1000,10000,100000,1000000] [--samples 300] [--users 10000]
 *
 * Runs on the embedded MongoDB-wire server (FerretDB on PostgreSQL, started in a temp dir), or on
 * MONGO_URL when given (in a database of its own, dropped at the end).
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import mongoose from 'mongoose';
import { analysisId, announcementAckId, defineMongoModels, notificationId, syncMongoIndexes, type MongoModels } from '../models/mongo/index.js';
import { startMongoWire } from '../scripts/services/mongo.js';
import { freePort } from '../scripts/services/process.js';
import { POSTGRES_USER, postgresBinDir } from '../scripts/services/postgres.js';
import { createAnnouncementRepository } from '../src/announcements/announcement-repository.js';
import { createAnnouncementAcks } from '../src/announcements/announcement-acks.js';
import { createAnnouncementQueries } from '../src/announcements/announcement-service.js';
import { createAnalysisRepository } from '../src/analysis/analysis-repository.js';
import { createNotificationRepository } from '../src/notifications/notification-repository.js';
import { createAnalysisStore } from '../workers/analysis-store.js';
import type { AnalysisResult } from '../workers/analyzers/analyzer.js';
import { ROOT, log, machineInfo, onCleanup, percentile, runBench, table } from './bench-support.js';

const run = promisify(execFile);

const USAGE = `usage: npx tsx bench/store-scale.ts [--sizes 1000,10000,100000,1000000] [--samples 300] [--users 10000]`;

function args(argv: string[]): { sizes: number[]; samples: number; users: number } {
  const out = { sizes: [1_000, 10_000, 100_000, 1_000_000], samples: 300, users: 10_000 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (flag === '--help') {
      console.log(USAGE);
      process.exit(0);
    }
    if (value === undefined) throw new Error(USAGE);
    if (flag === '--sizes') out.sizes = value.split(',').map(Number);
    else if (flag === '--samples') out.samples = Number(value);
    else if (flag === '--users') out.users = Number(value);
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  if (out.sizes.some((s) => !Number.isInteger(s) || s < 1) || !(out.samples > 0) || !(out.users > 0)) throw new Error(USAGE);
  out.sizes.sort((a, b) => a - b);
  return out;
}

const RESULT: AnalysisResult = {
  language: 'en',
  valence: -0.4,
  emotions: [
    { name: 'sadness', score: 0.62 },
    { name: 'fear', score: 0.21 },
  ],
  emotionStatus: 'NEGATIVE',
  automaticThoughts: [{ text: 'I always mess everything up', distortion: 'overgeneralization', intensity: 0.8, alternativeThought: 'Some things went wrong today; many did not.' }],
  alternativeThoughts: ['Some things went wrong today; many did not.'],
  promptForChange: 'What would you tell a friend who wrote this?',
};

/** Documents already seeded per collection, so each size adds only the difference. */
interface Seeded {
  notifications: number;
  perUser: number[];
  announcementAcks: number;
  analyses: number;
}

const pick = (n: number) => Math.floor(Math.random() * n);

async function seed(models: MongoModels, users: number, target: number, seeded: Seeded, announcements: string[]): Promise<void> {
  const { Notification, NotificationHead, AnnouncementAck, AnnouncementAckCount, DiaryAnalysis, AnalysisHead } = models;
  const started = Date.now();
  const total = target - seeded.notifications;
  let next = Date.now() + 5_000;
  const touched = new Set<number>();
  while (seeded.notifications < target) {
    const batch: object[] = [];
    for (let i = 0; i < 1_000 && seeded.notifications + batch.length < target; i++) {
      // Round-robin over users: every user's inbox grows evenly, like weeks of real use.
      const u: number = (seeded.notifications + batch.length) % users;
      const seq: number = ++seeded.perUser[u]!;
      touched.add(u);
      const userId = String(u + 1);
      batch.push({
        _id: notificationId(userId, seq),
        userId,
        seq,
        eventId: randomUUID(),
        type: 'analysis.status',
        payload: { diaryId: `${userId}-${seq}`, revision: 1, status: 'COMPLETED', summary: { emotionStatus: 'NEGATIVE', topEmotions: RESULT.emotions, alternativeThought: 'x'.repeat(60), distortions: ['overgeneralisation'] } },
        diaryId: `${userId}-${seq}`,
        // One in twenty never acknowledged (a device that stayed offline).
        ...(Math.random() < 0.05 ? { acked: false, ackedAt: null } : { acked: true, ackedAt: new Date() }),
        createdAt: new Date(),
      });
    }
    await Notification.collection.insertMany(batch as never, { ordered: false });
    seeded.notifications += batch.length;
    if (Date.now() > next) {
      next = Date.now() + 5_000;
      const done = total - (target - seeded.notifications);
      log(`seeding: ${seeded.notifications.toLocaleString()} / ${target.toLocaleString()} notifications (${Math.round(done / ((Date.now() - started) / 1000))} docs/s)`);
    }
  }
  const heads = [...touched];
  for (let i = 0; i < heads.length; i += 1_000) {
    await NotificationHead.bulkWrite(heads.slice(i, i + 1_000).map((u) => ({ updateOne: { filter: { _id: String(u + 1) }, update: { $set: { seq: seeded.perUser[u]! } }, upsert: true } })), { ordered: false });
  }
  const others = Math.min(target, 100_000);
  while (seeded.announcementAcks < others) {
    const batch: object[] = [];
    for (let i = 0; i < 1_000 && seeded.announcementAcks + batch.length < others; i++) {
      const n: number = seeded.announcementAcks + batch.length;
      const announcementId = announcements[n % announcements.length]!;
      const userId = String(Math.floor(n / announcements.length) + 1_000_000);
      batch.push({ _id: announcementAckId(announcementId, userId), announcementId, userId, ackedAt: new Date() });
    }
    await AnnouncementAck.collection.insertMany(batch as never, { ordered: false });
    seeded.announcementAcks += batch.length;
  }
  await AnnouncementAckCount.bulkWrite(announcements.map((id) => ({ updateOne: { filter: { _id: `${id}|seed` }, update: { $set: { announcementId: id, count: Math.ceil(seeded.announcementAcks / announcements.length) } }, upsert: true } })));
  while (seeded.analyses < others) {
    const analyses: object[] = [];
    const heads: object[] = [];
    for (let i = 0; i < 1_000 && seeded.analyses + analyses.length < others; i++) {
      const n: number = seeded.analyses + analyses.length;
      const diaryId = `s${n}`;
      const userId = String((n % users) + 1);
      analyses.push({ _id: analysisId(diaryId, 1), diaryId, userId, revision: 1, analyzer: 'offline', analyzerVersion: '1', model: null, ...RESULT, requestedAt: null, analyzedAt: new Date() });
      heads.push({ _id: diaryId, userId, revision: 1 });
    }
    await DiaryAnalysis.collection.insertMany(analyses as never, { ordered: false });
    await AnalysisHead.collection.insertMany(heads as never, { ordered: false });
    seeded.analyses += analyses.length;
  }
  log(`seeded ${target.toLocaleString()} notifications, ${seeded.announcementAcks.toLocaleString()} announcement acks, ${seeded.analyses.toLocaleString()} analyses in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** How many documents a call returned or changed (what its cost is proportional to). */
function documents(result: unknown): number {
  if (Array.isArray(result)) return result.length;
  if (result instanceof Map) return result.size;
  if (typeof result === 'number') return result;
  if (result && typeof result === 'object' && 'notification' in result) return 1;
  if (result && typeof result === 'object' && 'newlyAcked' in result) return 1;
  return result === null || result === undefined ? 0 : 1;
}

async function time(samples: number, op: (i: number) => Promise<unknown>): Promise<{ p50: number; p99: number; docs: number }> {
  for (let i = 0; i < Math.min(100, samples); i++) await op(-1 - i); // warm-up (JIT, caches)
  const ms: number[] = [];
  let docs = 0;
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    docs += documents(await op(i));
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), docs: docs / samples };
}

runBench('store-scale', async () => {
  const options = args(process.argv.slice(2));
  log(machineInfo());
  const rootDir = mkdtempSync(path.join(tmpdir(), 'emotion-diary-bench-'));
  onCleanup('temp dir', async () => (process.env.KEEP_BENCH_DATA ? log(`data kept in ${rootDir}`) : rmSync(rootDir, { recursive: true, force: true })));
  const db = `bench_store_${randomBytes(3).toString('hex')}`;
  let url: string;
  let flavour = 'MONGO_URL';
  let analyze: (() => Promise<unknown>) | undefined;
  if (process.env.MONGO_URL) {
    url = process.env.MONGO_URL;
  } else {
    const wire = await startMongoWire(path.join(rootDir, 'mongo'), await freePort(), rootDir);
    onCleanup('mongo-wire server', () => wire.stop());
    url = wire.url;
    flavour = wire.flavour;
    // PostgreSQL's statistics after a bulk load lag until autovacuum runs; refresh them as it would.
    if (wire.postgres) analyze = () => run(path.join(postgresBinDir(), 'psql'), ['-h', '127.0.0.1', '-p', String(wire.postgres!.port), '-U', POSTGRES_USER, '-d', 'postgres', '-qc', 'ANALYZE']);
  }
  const u = new URL(url);
  u.pathname = `/${db}`;
  const conn = await mongoose.createConnection(u.toString()).asPromise();
  onCleanup('bench database', async () => {
    if (process.env.MONGO_URL) await conn.dropDatabase();
    await conn.close();
  });
  log(`store: ${flavour}, database ${db}`);
  const models = defineMongoModels(conn);
  await syncMongoIndexes(models);

  const inbox = createNotificationRepository(models);
  const announcementRepo = createAnnouncementRepository(models);
  const announcements = createAnnouncementAcks({ repo: announcementRepo, counterId: 'bench', counts: { ackCountChanged: () => undefined }, ackCountIntervalMs: 60_000 });
  const announcementQueries = createAnnouncementQueries(announcementRepo);
  const store = createAnalysisStore(models);
  const analyses = createAnalysisRepository(models);
  const announcementIds: string[] = [];
  for (let i = 0; i < 20; i++) announcementIds.push((await announcementRepo.create({ title: `a${i}`, body: 'b', createdBy: '1' })).id);

  const seeded: Seeded = { notifications: 0, perUser: Array.from({ length: options.users }, () => 0), announcementAcks: 0, analyses: 0 };
  // Users with an inbox (at 1k notifications, 1,000 of them), so every call reads a real one.
  const user = () => pick(Math.min(options.users, Math.max(1, seeded.notifications)));
  const userId = (u: number) => String(u + 1);
  let fresh = 0;
  const ops: Array<[string, (i: number) => Promise<unknown>]> = [
    ['notification add', () => {
      const u = user();
      return inbox.add(userId(u), { eventId: randomUUID(), type: 'analysis.status', payload: { diaryId: 'x' }, diaryId: 'x' }).then(() => {
        seeded.perUser[u]!++;
        return 1;
      });
    }],
    ['last sequence (head)', () => inbox.head(userId(user())).then(() => 1)],
    ['replay on connect (3 behind)', () => {
      const u = user();
      return inbox.forReplay(userId(u), Math.max(0, seeded.perUser[u]! - 3), 500);
    }],
    ['redelivery: heads of 100 users', () => inbox.heads(Array.from({ length: 100 }, () => userId(user())))],
    ['redelivery: after a device cursor', () => {
      const u = user();
      return inbox.after(userId(u), Math.max(0, seeded.perUser[u]! - 2), 500, seeded.perUser[u]);
    }],
    ['ack by id', () => {
      const u = user();
      return inbox.ack(userId(u), { ids: [notificationId(userId(u), seeded.perUser[u]!)] });
    }],
    ['ack up to a sequence', () => {
      const u = user();
      return inbox.ack(userId(u), { upToSeq: seeded.perUser[u]! });
    }],
    ['device acks, batch of 50', () => inbox.ackMany(Array.from({ length: 50 }, () => {
      const u = user();
      return { userId: userId(u), id: notificationId(userId(u), Math.max(1, seeded.perUser[u]!)) };
    }))],
    ['inbox list, newest 20', () => inbox.list(userId(user()), { limit: 20 })],
    ['inbox list, page before a sequence', () => {
      const u = user();
      return inbox.list(userId(u), { beforeSeq: Math.max(2, Math.floor(seeded.perUser[u]! / 2)), limit: 20 });
    }],
    ['inbox list, unacknowledged', () => inbox.list(userId(user()), { unackedOnly: true, limit: 20 })],
    ['announcement ack', () => announcements.ack(`fresh-${fresh++}`, announcementIds[pick(announcementIds.length)]!)],
    ['announcement ack counts (20)', () => announcementQueries.listWithCounts(20)],
    ['announcements pending for a user', () => announcementQueries.pendingFor(userId(user()))],
    ['analysis stale check (head)', () => store.newestRevision(`s${pick(Math.max(1, seeded.analyses))}`).then(() => 1)],
    ['analysis save', (i) => store.save({ diaryId: `new-${seeded.analyses}-${i}-${fresh++}`, userId: userId(user()), revision: 1 }, { name: 'offline', version: '1' }, RESULT, null).then(() => 2)],
    ['analysis read', () => {
      const n = pick(Math.max(1, seeded.analyses));
      return analyses.forRevision(String((n % options.users) + 1), `s${n}`, 1);
    }],
    ['analyses for a report (30)', () => {
      const u = user();
      return analyses.forDiaries(userId(u), Array.from({ length: 30 }, (_, k) => ({ diaryId: `s${u + k * options.users}`, revision: 1 })));
    }],
  ];

  const results: Record<string, Record<number, { p50: number; p99: number; docs: number }>> = {};
  for (const size of options.sizes) {
    await seed(models, options.users, size, seeded, announcementIds);
    await analyze?.();
    log(`measuring at ${size.toLocaleString()} notifications (${options.samples} calls per operation, one at a time)`);
    for (const [name, op] of ops) (results[name] ??= {})[size] = await time(options.samples, op);
  }
  await announcements.close();

  const first = options.sizes[0]!;
  const last = options.sizes.at(-1)!;
  const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1_000 ? `${n / 1_000}k` : String(n));
  const rows = Object.entries(results).map(([name, bySize]) => {
    const ratio = bySize[last]!.p99 / bySize[first]!.p99;
    const ok = ratio <= 2 && bySize[last]!.p99 < 20;
    const docs = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(1));
    return [name, ...options.sizes.flatMap((s) => [bySize[s]!.p50, bySize[s]!.p99]), bySize[last]!.p50 / bySize[first]!.p50, ratio, `${docs(bySize[first]!.docs)} -> ${docs(bySize[last]!.docs)}`, ok ? 'yes' : 'NO'];
  });
  console.log(`\nstore-scale: ${flavour}; ${options.users.toLocaleString()} users; ${options.samples} calls per operation and size, one at a time; ms`);
  console.log(`machine: ${machineInfo()}`);
  console.log('docs per call: documents a call returned or changed, on average; a call that returns more costs more (about 0.1 ms per document on FerretDB)\n');
  console.log(table(['operation', ...options.sizes.flatMap((s) => [`${label(s)} p50`, `${label(s)} p99`]), `p50 ${label(last)}/${label(first)}`, `p99 ${label(last)}/${label(first)}`, `docs per call ${label(first)} -> ${label(last)}`, 'p99 flat (<=2x, <20 ms)'], rows));
  const out = path.join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'store-scale.json'), `${JSON.stringify({ at: new Date().toISOString(), store: flavour, machine: machineInfo(), users: options.users, samples: options.samples, results }, null, 2)}\n`);
  log(`written to bench/results/store-scale.json`);
  return rows.every((r) => r.at(-1) === 'yes') ? 0 : 1;
});
