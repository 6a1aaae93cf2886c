/**
 * The soak's accounting: what the store and the database hold at the end against what every
 * device received, per fault. Each notification is attributed to the fault window in which the
 * write that caused it was accepted (the window runs from a fault's start to the next one's).
 */
import mongoose from 'mongoose';
import type { AppConfig } from '../../config/index.js';
import type { FaultRecord } from './soak-faults.js';
import type { SimUser } from './soak-users.js';
import { openBenchDb, percentile } from '../bench-support.js';

export interface StoreSnapshot {
  /** Notifications of the users, tombstones left out. */
  notifications: Array<{ id: string; userId: string; seq: number; type: string; diaryId: string | null; revision?: number; status?: string; createdAt: number }>;
  diaries: Array<{ id: string; userId: string; revision: number; status: string; analyzedRevision: number | null; statusRevision: number }>;
  /** diaryId → analyses stored for it. */
  analysesByDiary: Map<string, number>;
}

/**
 * Reads the end state straight from MariaDB and the store (not through the API under test), over
 * connections kept for the whole drain.
 */
export async function openSnapshotReader(config: AppConfig): Promise<{ read(userIds: string[]): Promise<StoreSnapshot>; close(): Promise<void> }> {
  const db = await openBenchDb(config);
  const mongo = await mongoose.createConnection(config.mongo.url, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  return {
    async read(userIds) {
      const rows = (await db.query('SELECT id, user_id, revision, analysis_status, analyzed_revision, status_revision FROM diaries WHERE user_id IN (?)', [userIds.map(Number)])) as Array<
        Record<string, number | string | null>
      >;
      const notes = await mongo.db!.collection('notifications').find({ userId: { $in: userIds }, type: { $ne: 'removed' } }).toArray();
      const analyses = await mongo.db!.collection('diary_analyses').find({ userId: { $in: userIds } }, { projection: { diaryId: 1 } }).toArray();
      const analysesByDiary = new Map<string, number>();
      for (const a of analyses) analysesByDiary.set(String(a.diaryId), (analysesByDiary.get(String(a.diaryId)) ?? 0) + 1);
      return {
        notifications: notes.map((n) => {
          const p = (n.payload ?? {}) as { revision?: number; status?: string };
          return { id: String(n._id), userId: String(n.userId), seq: Number(n.seq), type: String(n.type), diaryId: n.diaryId ? String(n.diaryId) : null, revision: p.revision, status: p.status, createdAt: new Date(n.createdAt as Date).getTime() };
        }),
        diaries: rows.map((r) => ({
          id: String(r.id),
          userId: String(r.user_id),
          revision: Number(r.revision),
          status: String(r.analysis_status),
          analyzedRevision: r.analyzed_revision === null ? null : Number(r.analyzed_revision),
          statusRevision: Number(r.status_revision),
        })),
        analysesByDiary,
      };
    },
    async close() {
      await db.end().catch(() => undefined);
      await mongo.close().catch(() => undefined);
    },
  };
}

/** Whether everything has settled: every entry analysed at its last revision, every notification on every device. */
export function settled(snapshot: StoreSnapshot, users: SimUser[]): { unfinished: number; undelivered: number } {
  const byUser = new Map(users.map((u) => [u.userId, u]));
  const unfinished = snapshot.diaries.filter((d) => !finished(d)).length;
  let undelivered = 0;
  for (const n of snapshot.notifications) for (const device of byUser.get(n.userId)?.devices ?? []) if (!device.received.has(n.id)) undelivered++;
  return { unfinished, undelivered };
}

const finished = (d: StoreSnapshot['diaries'][number]) => d.statusRevision === d.revision && (d.status === 'COMPLETED' || d.status === 'FAILED') && (d.status === 'FAILED' || d.analyzedRevision === d.revision);

export interface WindowRow {
  window: string;
  /** Stored notifications caused in the window. */
  events: number;
  /** Deliveries those owed (events × devices). */
  deliveries: number;
  lost: number;
  duplicates: number;
  /** After deduplication, deliveries that came after one of a later sequence on the same device... */
  outOfSeq: number;
  /** ...and those where the same entry's state went backwards on the device. */
  regressed: number;
  stale: number;
  survivors: number;
  /** Requests answered 5xx, and requests with no answer at all (connection reset through nginx). */
  http5xx: number;
  noAnswer: number;
  /** Fault end → the first delivery after it (ms). */
  firstDeliveryMs?: number;
  /** Fault end → the last delivery of what was caused during the fault, on the steady devices (ms). */
  backlogMs?: number;
}

export interface SoakVerdict {
  windows: WindowRow[];
  totals: WindowRow;
  recovery: { firstDeliveryP50: number; firstDeliveryP99: number; backlogP50: number; backlogP99: number };
  /** Details of every loss, regression, stale analysis and survivor (the first 50 of each). */
  findings: Record<string, unknown[]>;
}

/** Counts everything per fault window; `runStart` opens the window before the first fault. */
export function judge(snapshot: StoreSnapshot, users: SimUser[], faults: FaultRecord[], runStart: number): SoakVerdict {
  const starts = [runStart, ...faults.map((f) => f.startedAt)];
  const windowOf = (t: number) => {
    let i = 0;
    while (i + 1 < starts.length && starts[i + 1]! <= t) i++;
    return i;
  };
  const rows: WindowRow[] = starts.map((_, i) => ({
    window: i === 0 ? 'before faults' : `${i}`,
    events: 0,
    deliveries: 0,
    lost: 0,
    duplicates: 0,
    outOfSeq: 0,
    regressed: 0,
    stale: 0,
    survivors: 0,
    http5xx: 0,
    noAnswer: 0,
  }));
  const findings: Record<string, unknown[]> = { lost: [], regressed: [], stale: [], survivors: [], unfinished: [] };
  const note = (kind: string, item: unknown) => {
    if (findings[kind]!.length < 50) findings[kind]!.push(item);
  };
  const byUser = new Map(users.map((u) => [u.userId, u]));
  // When the write behind each (diary, revision) was accepted: the cause of its notifications.
  const causeAt = new Map<string, number>();
  const lastWriteAt = new Map<string, number>();
  for (const u of users) {
    for (const w of u.writes) {
      if (w.revision !== undefined) causeAt.set(`${w.diaryId}:${w.revision}`, w.at);
      lastWriteAt.set(w.diaryId, w.at);
    }
    for (const f of u.failures) rows[windowOf(f.at)]![f.status === 0 ? 'noAnswer' : 'http5xx']++;
    for (const d of u.devices) {
      for (const o of d.outOfOrder) rows[windowOf(o.at)]![o.sameDiary ? 'regressed' : 'outOfSeq']++;
      for (const o of d.outOfOrder.filter((x) => x.sameDiary)) note('regressed', { device: d.name, ...o });
      for (const at of d.duplicateTimes) rows[windowOf(at)]!.duplicates++;
    }
  }

  for (const n of snapshot.notifications) {
    const user = byUser.get(n.userId);
    if (!user) continue;
    const row = rows[windowOf(causeAt.get(`${n.diaryId}:${n.revision}`) ?? n.createdAt)]!;
    row.events++;
    for (const device of user.devices) {
      row.deliveries++;
      if (!device.received.has(n.id)) {
        row.lost++;
        note('lost', { device: device.name, id: n.id, diaryId: n.diaryId, revision: n.revision, status: n.status });
      }
    }
  }

  // Entries that never reached a final state for their last revision are lost analyses.
  for (const d of snapshot.diaries) {
    const user = byUser.get(d.userId);
    const row = rows[windowOf(lastWriteAt.get(d.id) ?? runStart)]!;
    if (!finished(d)) {
      row.lost++;
      note('unfinished', d);
      continue;
    }
    // What each device shows last for the entry must be its last revision.
    for (const device of user?.devices ?? []) {
      let shown: { revision?: number } | undefined;
      for (const r of device.received.values()) {
        if (r.diaryId === d.id && (r.status === 'COMPLETED' || r.status === 'FAILED') && (shown === undefined || (r.revision ?? 0) > (shown.revision ?? 0))) shown = r;
      }
      if (shown?.revision !== d.revision) {
        row.stale++;
        note('stale', { device: device.name, diaryId: d.id, revision: d.revision, shown: shown?.revision ?? null });
      }
    }
  }

  // Nothing about a deleted entry may remain: row, analyses, notifications.
  const rowIds = new Set(snapshot.diaries.map((d) => d.id));
  const notesByDiary = new Map<string, number>();
  for (const n of snapshot.notifications) if (n.diaryId) notesByDiary.set(n.diaryId, (notesByDiary.get(n.diaryId) ?? 0) + 1);
  for (const u of users) {
    for (const [diaryId, at] of u.deleted) {
      const left = { row: rowIds.has(diaryId), analyses: snapshot.analysesByDiary.get(diaryId) ?? 0, notifications: notesByDiary.get(diaryId) ?? 0 };
      if (left.row || left.analyses > 0 || left.notifications > 0) {
        rows[windowOf(at)]!.survivors++;
        note('survivors', { diaryId, ...left });
      }
    }
  }

  // Recovery: from each fault's end, the first delivery anywhere, and the last delivery of what
  // the fault window caused on the steady devices.
  const deliveries = users.flatMap((u) => u.devices.flatMap((d) => [...d.received.values()].map((r) => ({ r, steady: !d.flapping }))));
  const allTimes = deliveries.map((d) => d.r.at).sort((a, b) => a - b);
  for (const [i, f] of faults.entries()) {
    const row = rows[i + 1]!;
    const first = allTimes.find((t) => t >= f.endedAt);
    if (first !== undefined) row.firstDeliveryMs = first - f.endedAt;
    let last = f.endedAt;
    for (const { r, steady } of deliveries) {
      if (!steady) continue;
      const cause = causeAt.get(`${r.diaryId}:${r.revision}`);
      if (cause !== undefined && cause >= f.startedAt && cause <= f.endedAt) last = Math.max(last, r.at);
    }
    row.backlogMs = last - f.endedAt;
  }

  const totals: WindowRow = { ...rows[0]!, window: 'total' };
  for (const key of ['events', 'deliveries', 'lost', 'duplicates', 'outOfSeq', 'regressed', 'stale', 'survivors', 'http5xx', 'noAnswer'] as const) totals[key] = rows.reduce((s, r) => s + r[key], 0);
  delete totals.firstDeliveryMs;
  delete totals.backlogMs;
  const sorted = (key: 'firstDeliveryMs' | 'backlogMs') =>
    rows
      .slice(1)
      .map((r) => r[key])
      .filter((v): v is number => v !== undefined)
      .sort((a, b) => a - b);
  return {
    windows: rows,
    totals,
    recovery: {
      firstDeliveryP50: percentile(sorted('firstDeliveryMs'), 50),
      firstDeliveryP99: percentile(sorted('firstDeliveryMs'), 99),
      backlogP50: percentile(sorted('backlogMs'), 50),
      backlogP99: percentile(sorted('backlogMs'), 99),
    },
    findings,
  };
}
