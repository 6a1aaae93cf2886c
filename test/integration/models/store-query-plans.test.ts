import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import mongoose, { type Connection } from 'mongoose';
import { defineMongoModels, notificationId, syncMongoIndexes, type MongoModels } from '../../../models/mongo/index.js';
import { freePort } from '../../../scripts/services/process.js';
import { startMongoWire, type MongoWireService } from '../../../scripts/services/mongo.js';
import { POSTGRES_USER, postgresBinDir } from '../../../scripts/services/postgres.js';
import { createAnnouncementRepository } from '../../../src/announcements/announcement-repository.js';
import { createAnnouncementAcks } from '../../../src/announcements/announcement-acks.js';
import { createAnnouncementQueries } from '../../../src/announcements/announcement-service.js';
import { createAnalysisRepository } from '../../../src/analysis/analysis-repository.js';
import { createNotificationRepository } from '../../../src/notifications/notification-repository.js';
import { createAnalysisStore } from '../../../workers/analysis-store.js';
import type { AnalysisResult } from '../../../workers/analyzers/analyzer.js';
import { testRootDir } from '../../harness/services.js';

const run = promisify(execFile);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Schema?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}
interface LoggedPlan {
  'Query Text': string;
  Plan: PlanNode;
}

/** Plans auto_explain wrote to the PostgreSQL log (JSON format, one entry per statement). */
function loggedPlans(logFile: string): LoggedPlan[] {
  const plans: LoggedPlan[] = [];
  let current: string[] | undefined;
  const flush = () => {
    if (current) plans.push(JSON.parse(current.join('\n')) as LoggedPlan);
    current = undefined;
  };
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (/ LOG: {2}duration: .* plan:$/.test(line)) {
      flush();
      current = [];
    } else if (current && line.startsWith('\t')) current.push(line.slice(1));
    else flush();
  }
  flush();
  return plans;
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

/**
 * Every hot query of the stores, run through FerretDB on a PostgreSQL of its own with auto_explain
 * logging each statement's plan (seq scans disabled, so a plan that still scans a collection's
 * table has no index that can serve it).
 */
describe('query plans of the hot store paths (FerretDB on PostgreSQL, EXPLAIN through auto_explain)', function () {
  this.timeout(120_000);
  const db = 'plans';
  let wire: MongoWireService;
  let conn: Connection;
  let models: MongoModels;
  let logFile: string;

  before(async () => {
    const dir = path.join(testRootDir(), `plans-${randomUUID().slice(0, 8)}`);
    mkdirSync(dir, { recursive: true });
    wire = await startMongoWire(dir, await freePort(), dir, {
      ferretdb: true,
      postgres: {
        settings: {
          session_preload_libraries: 'auto_explain',
          'auto_explain.log_min_duration': 0,
          'auto_explain.log_format': 'json',
          'auto_explain.log_verbose': 'on',
          enable_seqscan: 'off',
          log_min_messages: 'info',
        },
      },
    });
    logFile = wire.postgres!.logFile!;
    conn = await mongoose.createConnection(`${wire.url}/${db}`).asPromise();
    models = defineMongoModels(conn);
    await syncMongoIndexes(models);
    // A few hundred users' inboxes, acks and analyses, so the plans are those of a real inbox.
    const notifications = [];
    const heads = [];
    for (let u = 1; u <= 200; u++) {
      for (let seq = 1; seq <= 10; seq++) {
        notifications.push({ _id: notificationId(String(u), seq), userId: String(u), seq, eventId: randomUUID(), type: 'analysis.status', payload: { diaryId: `${u}-${seq}` }, diaryId: `${u}-${seq}`, acked: seq < 8, ackedAt: seq < 8 ? new Date() : null, createdAt: new Date() });
      }
      heads.push({ _id: String(u), seq: 10 });
    }
    await models.Notification.insertMany(notifications);
    await models.NotificationHead.insertMany(heads);
  });

  after(async () => {
    await conn?.close();
    await wire?.stop();
  });

  /** Runs `op` between two markers and returns the plans PostgreSQL logged for it. */
  async function plansOf(name: string, op: () => Promise<unknown>): Promise<LoggedPlan[]> {
    const psql = path.join(postgresBinDir(), 'psql');
    const mark = (what: string) => run(psql, ['-h', '127.0.0.1', '-p', String(wire.postgres!.port), '-U', POSTGRES_USER, '-d', 'postgres', '-Atqc', `SELECT 'marker:${what}:${name}'`]);
    await mark('begin');
    await op();
    await mark('end');
    let plans: LoggedPlan[] = [];
    for (let i = 0; i < 50; i++) {
      plans = loggedPlans(logFile);
      if (plans.some((p) => p['Query Text'].includes(`marker:end:${name}`))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const begin = plans.findIndex((p) => p['Query Text'].includes(`marker:begin:${name}`));
    const end = plans.findIndex((p) => p['Query Text'].includes(`marker:end:${name}`));
    expect(begin, `markers of ${name} in the log`).to.be.greaterThan(-1);
    return plans.slice(begin + 1, end);
  }

  /** The plans touched our collections' tables and none of them scanned one. */
  function expectIndexed(name: string, plans: LoggedPlan[]): void {
    const ours = plans.filter((p) => nodes(p.Plan).some((n) => n.Schema === db));
    expect(ours.length, `${name}: statements on the collections`).to.be.greaterThan(0);
    for (const p of ours) {
      const scans = nodes(p.Plan).filter((n) => n['Node Type'] === 'Seq Scan' && n.Schema === db && !n['Relation Name']!.startsWith('_ferretdb'));
      expect(scans.map((n) => `${n['Relation Name']} in: ${p['Query Text']}`), name).to.deep.equal([]);
    }
  }

  const check = async (name: string, op: () => Promise<unknown>) => expectIndexed(name, await plansOf(name, op));

  it('when the inbox stores, reads, replays, catches up, acks and lists, then every statement is served by an index', async () => {
    const repo = createNotificationRepository(models);
    await check('notification add', () => repo.add('7', { eventId: randomUUID(), type: 'analysis.status', payload: {}, diaryId: 'x' }));
    await check('notification add of a stored event', async () => {
      const eventId = randomUUID();
      await repo.add('8', { eventId, type: 'analysis.status', payload: {} });
      await repo.add('8', { eventId, type: 'analysis.status', payload: {} });
    });
    await check('last sequence', () => repo.head('9'));
    await check('heads for redelivery', () => repo.heads(['1', '2', '3', '4']));
    await check('replay after a sequence', () => repo.forReplay('10', 4, 100));
    await check('catch-up after a device cursor', () => repo.after('11', 6, 100, 10));
    await check('ack by ids', () => repo.ack('12', { ids: ['12:9', '12:10'] }));
    await check('ack up to a sequence', () => repo.ack('13', { upToSeq: 9 }));
    await check('device acks in a batch', () => repo.ackMany([{ userId: '14', id: '14:9' }, { userId: '15', id: '15:8' }]));
    await check('list newest first', () => repo.list('16', { limit: 5 }));
    await check('list before a sequence', () => repo.list('16', { beforeSeq: 6, limit: 5 }));
    await check('list after a sequence', () => repo.list('16', { afterSeq: 3, limit: 5 }));
    await check('list unacknowledged', () => repo.list('17', { unackedOnly: true, limit: 5 }));
    await check('entry deleted', () => repo.removeForDiary('18', '18-3'));
    await check('account deleted', () => repo.deleteForUser('19'));
  });

  it('when announcements are acknowledged and counted, then every statement is served by an index', async () => {
    const repo = createAnnouncementRepository(models);
    const service = createAnnouncementAcks({ repo, counterId: 'plans', counts: { ackCountChanged: () => undefined }, ackCountIntervalMs: 10 });
    const queries = createAnnouncementQueries(repo);
    const a = await repo.create({ title: 't', body: 'b', createdBy: '1' });
    await check('announcement ack', () => service.ack('3', a.id));
    await check('announcement ack counter', () => repo.addAcks(a.id, 'plans', 1));
    await check('announcement ack counts', () => queries.listWithCounts(10));
    await check('announcements pending for a user', () => queries.pendingFor('3'));
    await check('announcements created since', () => queries.createdSince(new Date(Date.now() - 60_000)));
    await check('announcement acks of a deleted account', () => repo.deleteAcksOfUser('3'));
    await service.close();
  });

  it('when the worker saves analyses and the API reads them, then every statement is served by an index', async () => {
    const store = createAnalysisStore(models);
    const analyses = createAnalysisRepository(models);
    const result: AnalysisResult = { language: 'en', valence: 0.8, emotions: [{ name: 'joy', score: 0.8 }], emotionStatus: 'POSITIVE', automaticThoughts: [], alternativeThoughts: [], promptForChange: '' };
    const analyzer = { name: 'offline', version: '1' };
    await check('newest analysed revision', () => store.newestRevision('d1'));
    await check('analysis save', () => store.save({ diaryId: 'd1', userId: '1', revision: 1 }, analyzer, result, null));
    await check('analysis save of a redelivery and a newer revision', async () => {
      await store.save({ diaryId: 'd1', userId: '1', revision: 1 }, analyzer, result, null);
      await store.save({ diaryId: 'd1', userId: '1', revision: 2 }, analyzer, result, null);
    });
    await check('newest analysed revisions of a chunk', () => store.newestRevisions(['d1', 'd2', 'd3']));
    await check('stored analyses of a chunk', () => store.findMany([{ diaryId: 'd1', revision: 1 }, { diaryId: 'd3', revision: 1 }]));
    await check('analyses of a chunk saved in bulk, one a redelivery', () =>
      store.saveMany(['d1', 'd3', 'd4'].map((diaryId) => ({ ref: { diaryId, userId: '1', revision: diaryId === 'd1' ? 2 : 1 }, analyzer, result, requestedAt: null }))),
    );
    await check('analysis read', () => analyses.forRevision('1', 'd1', 2));
    await check('analyses for a report', () => analyses.forDiaries('1', [{ diaryId: 'd1', revision: 2 }, { diaryId: 'd2', revision: 1 }]));
    await check('analyses of a deleted entry', () => analyses.deleteForDiary('1', 'd1'));
    await check('analyses of a deleted account', () => analyses.deleteForUser('1'));
  });
});
