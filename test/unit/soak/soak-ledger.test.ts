import { expect } from 'chai';
import { judge, settled, type StoreSnapshot } from '../../../bench/soak/soak-ledger.js';
import type { FaultRecord } from '../../../bench/soak/soak-faults.js';
import type { Delivery, Device, SimUser } from '../../../bench/soak/soak-users.js';

/** The soak's verdict must be able to fail: each kind of defect, planted, is counted where it happened. */
describe('soak ledger', () => {
  const T0 = 1_000_000;
  const fault: FaultRecord = { index: 1, kind: 'kill-api', node: 'api-1', holdMs: 1_000, startedAt: T0 + 10_000, endedAt: T0 + 12_000 };

  function device(name: string, flapping: boolean, deliveries: Delivery[], extra: Partial<Device> = {}): Device {
    return {
      name,
      flapping,
      received: new Map(deliveries.map((d) => [d.id, d])),
      duplicateTimes: [],
      outOfOrder: [],
      announcements: new Map(),
      connects: 1,
      connected: () => true,
      drop: () => undefined,
      reconnect: () => undefined,
      close: () => undefined,
      ...extra,
    };
  }
  const status = (id: string, seq: number, diaryId: string, revision: number, s: string, at: number): Delivery => ({ id, seq, type: 'analysis.status', diaryId, revision, status: s, at });
  const stored = (id: string, seq: number, diaryId: string, revision: number, s: string, createdAt: number) => ({ id, userId: '1', seq, type: 'analysis.status', diaryId, revision, status: s, createdAt });

  function scene(options: { steadyMisses?: boolean; analysisOfDeleted?: boolean; stale?: boolean; unfinished?: boolean; regressed?: boolean }) {
    const before = [status('1:1', 1, 'd1', 1, 'PROCESSING', T0 + 1_000), status('1:2', 2, 'd1', 1, 'COMPLETED', T0 + 1_500)];
    const during = [status('1:3', 3, 'd2', 1, 'PROCESSING', T0 + 12_500), status('1:4', 4, 'd2', 1, 'COMPLETED', T0 + 13_000)];
    const user: SimUser = {
      userId: '1',
      token: 't',
      writes: [
        { kind: 'create', diaryId: 'd1', revision: 1, at: T0 + 500 },
        { kind: 'create', diaryId: 'd2', revision: 1, at: T0 + 11_000 },
        { kind: 'create', diaryId: 'd3', revision: 1, at: T0 + 11_500 },
        { kind: 'delete', diaryId: 'd3', at: T0 + 11_800 },
      ],
      failures: [{ kind: 'create', status: 502, at: T0 + 10_500 }],
      deleted: new Map([['d3', T0 + 11_800]]),
      devices: [
        device('1/steady', false, options.steadyMisses ? [...before, during[0]!] : [...before, ...during], {
          outOfOrder: options.regressed ? [{ id: '1:3', seq: 3, after: 4, at: T0 + 13_100, sameDiary: true }] : [],
        }),
        // Stale: the flapping device's last analysis of d2 is of an older revision than the entry's.
        device('1/flapping', true, options.stale ? [...before, during[0]!, status('1:9', 9, 'd2', 0, 'COMPLETED', T0 + 14_000)] : [...before, ...during]),
      ],
    };
    const snapshot: StoreSnapshot = {
      notifications: [stored('1:1', 1, 'd1', 1, 'PROCESSING', T0 + 900), stored('1:2', 2, 'd1', 1, 'COMPLETED', T0 + 1_400), stored('1:3', 3, 'd2', 1, 'PROCESSING', T0 + 12_400), stored('1:4', 4, 'd2', 1, 'COMPLETED', T0 + 12_900)],
      diaries: [
        { id: 'd1', userId: '1', revision: 1, status: 'COMPLETED', analyzedRevision: 1, statusRevision: 1 },
        { id: 'd2', userId: '1', revision: 1, status: options.unfinished ? 'PROCESSING' : 'COMPLETED', analyzedRevision: options.unfinished ? null : 1, statusRevision: 1 },
      ],
      analysesByDiary: new Map(options.analysisOfDeleted ? [['d3', 1]] : []),
    };
    return { snapshot, users: [user] };
  }

  it('when every delivery arrived and nothing is left of a deleted entry, then nothing is counted against the run', () => {
    const { snapshot, users } = scene({});
    const verdict = judge(snapshot, users, [fault], T0);
    expect(verdict.totals).to.include({ events: 4, deliveries: 8, lost: 0, regressed: 0, stale: 0, survivors: 0, http5xx: 1 });
    expect(verdict.windows[1]).to.include({ events: 2, http5xx: 1, firstDeliveryMs: 500, backlogMs: 1_000 });
    expect(settled(snapshot, users)).to.deep.equal({ unfinished: 0, undelivered: 0 });
  });

  it('when a device misses a stored notification, then it is lost in the window of the write that caused it', () => {
    const { snapshot, users } = scene({ steadyMisses: true });
    const verdict = judge(snapshot, users, [fault], T0);
    expect(verdict.windows.map((w) => w.lost)).to.deep.equal([0, 1]);
    expect(verdict.findings.lost).to.deep.equal([{ device: '1/steady', id: '1:4', diaryId: 'd2', revision: 1, status: 'COMPLETED' }]);
    expect(settled(snapshot, users).undelivered).to.equal(1);
  });

  it('when an entry never reaches a final state for its last revision, then its analysis is lost', () => {
    const { snapshot, users } = scene({ unfinished: true });
    const verdict = judge(snapshot, users, [fault], T0);
    expect(verdict.totals.lost).to.equal(1);
    expect(settled(snapshot, users).unfinished).to.equal(1);
  });

  it('when a device shows an older analysis last, or saw an entry go back, or an analysis of a deleted entry remains, then each is counted', () => {
    const stale = judge(scene({ stale: true }).snapshot, scene({ stale: true }).users, [fault], T0);
    expect(stale.totals.stale).to.equal(1);
    expect(judge(scene({ regressed: true }).snapshot, scene({ regressed: true }).users, [fault], T0).totals.regressed).to.equal(1);
    const survivor = judge(scene({ analysisOfDeleted: true }).snapshot, scene({ analysisOfDeleted: true }).users, [fault], T0);
    expect(survivor.windows.map((w) => w.survivors)).to.deep.equal([0, 1]);
    expect(survivor.findings.survivors).to.deep.equal([{ diaryId: 'd3', row: false, analyses: 1, notifications: 0 }]);
  });
});
