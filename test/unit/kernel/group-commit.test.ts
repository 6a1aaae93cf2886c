import { expect } from 'chai';
import { createGroupCommit } from '../../../kernel/group-commit.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('group commit', () => {
  it('when calls arrive while a flush is in flight, then they go out together as the next flush, in order, each with its own result', async () => {
    const flushes: string[][] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const writes = createGroupCommit(async (inputs: string[]) => {
      flushes.push(inputs);
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      await tick(20);
      inFlight--;
      return inputs.map((s) => s.toUpperCase());
    }, { maxWeight: 100 });
    const first = writes.submit('a');
    await tick(5); // 'a' is in flight now
    const later = ['b', 'c', 'd'].map((s) => writes.submit(s));
    expect(await first).to.equal('A');
    expect(await Promise.all(later)).to.deep.equal(['B', 'C', 'D']);
    expect(flushes).to.deep.equal([['a'], ['b', 'c', 'd']]);
    expect(mostInFlight).to.equal(1);
  });

  it('when the queued calls outweigh one flush, then they are split, and a call heavier than the limit still goes out alone', async () => {
    const flushes: number[][] = [];
    const writes = createGroupCommit(async (inputs: number[]) => {
      flushes.push(inputs);
      await tick(5);
      return inputs;
    }, { maxWeight: 10, weight: (n) => n });
    await Promise.all([4, 5, 2, 30, 1].map((n) => writes.submit(n)));
    expect(flushes).to.deep.equal([[4, 5], [2], [30], [1]]);
  });

  it('when a flush fails, then every call in it fails and the next calls are served', async () => {
    let fail = true;
    const writes = createGroupCommit(async (inputs: number[]) => {
      await tick(5);
      if (fail) throw new Error('store down');
      return inputs.map((n) => n * 2);
    }, { maxWeight: 10 });
    const failed = await Promise.allSettled([writes.submit(1), writes.submit(2)]);
    expect(failed.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    fail = false;
    expect(await writes.submit(3)).to.equal(6);
  });

  it('when a flush answers fewer results than calls, then the calls fail instead of hanging', async () => {
    const writes = createGroupCommit(async (inputs: number[]) => inputs.slice(1), { maxWeight: 10 });
    const settled = await Promise.allSettled([writes.submit(1), writes.submit(2)]);
    expect(settled.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
  });
});
