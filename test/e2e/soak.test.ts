import { expect } from 'chai';
import { runSoak, type SoakReport } from '../../bench/soak/soak-run.js';

/**
 * The short, deterministic profile of the chaos soak (`bench/soak.ts` is the long one): 3 API
 * instances behind nginx, 2 workers, toxiproxy on every link, 20 users with a steady and a
 * flapping device each, and five faults of the kinds most likely to lose or reorder something.
 */
describe('chaos soak: short profile', function () {
  this.timeout(360_000);
  let report: SoakReport;

  before(async function () {
    this.timeout(360_000);
    report = await runSoak({
      users: 20,
      durationSec: 60,
      faults: 5,
      seed: 7,
      meanPauseMs: 2_000,
      warmupSec: 8,
      drainTimeoutSec: 90,
      announceEverySec: 15,
      kinds: ['kill-api', 'kill-worker', 'partition-api-redis', 'restart-store', 'reset-peer'],
    });
  });

  it('when processes die, the store restarts and links fail, then every fault ran to its end and the load went on', () => {
    expect(report.faults.map((f) => f.error).filter(Boolean)).to.deep.equal([]);
    expect(report.faults.map((f) => f.kind)).to.have.members(['kill-api', 'kill-worker', 'partition-api-redis', 'restart-store', 'reset-peer']);
    expect(report.verdict.totals.events).to.be.greaterThan(200);
    expect(report.writes.delete ?? 0).to.be.greaterThan(0);
    expect(report.announcements.created).to.be.greaterThan(1);
  });

  it('then every stored notification reached every device, every entry was analysed at its last revision, and every announcement reached every user', () => {
    const { totals, findings } = report.verdict;
    expect(report.settled, `drain did not settle: ${JSON.stringify(findings.unfinished)}`).to.equal(true);
    expect(totals.lost, JSON.stringify([...findings.lost!, ...findings.unfinished!])).to.equal(0);
    expect(report.announcements.missing).to.equal(0);
  });

  it('then no device saw an entry go back to an older state, none shows a stale analysis, and nothing of a deleted entry survives', () => {
    const { totals, findings } = report.verdict;
    expect(totals.regressed, JSON.stringify(findings.regressed)).to.equal(0);
    expect(totals.stale, JSON.stringify(findings.stale)).to.equal(0);
    expect(totals.survivors, JSON.stringify(findings.survivors)).to.equal(0);
  });

  it('then deliveries resumed within 5 s of each fault ending', () => {
    expect(report.verdict.recovery.firstDeliveryP99).to.be.below(5_000);
  });
});
