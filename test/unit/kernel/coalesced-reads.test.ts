import { expect } from 'chai';
import { createCoalescedReads } from '../../../kernel/coalesced-reads.js';

describe('coalesced point reads', () => {
  it('when reads arrive while one is in flight, then they go out together as the next batch, each answered by a query issued after it', async () => {
    const batches: string[][] = [];
    let version = 0;
    const reads = createCoalescedReads(async (keys: string[]) => {
      batches.push(keys);
      const answeredAt = ++version;
      await new Promise((r) => setTimeout(r, 20));
      return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, `${k}@${answeredAt}`]));
    }, { maxKeys: 3 });
    const first = reads.load('a');
    await new Promise((r) => setTimeout(r, 5)); // 'a' is in flight now
    const later = ['b', 'c', 'b', 'missing', 'd'].map((k) => reads.load(k));
    expect(await first).to.equal('a@1');
    expect(await Promise.all(later)).to.deep.equal(['b@2', 'c@2', 'b@2', undefined, 'd@3']);
    expect(batches).to.deep.equal([['a'], ['b', 'c', 'missing'], ['d']]);
  });

  it('when a batch fails, then its reads fail and the next reads are served', async () => {
    let fail = true;
    const reads = createCoalescedReads(async (keys: number[]) => {
      if (fail) throw new Error('store down');
      return new Map(keys.map((k) => [k, k * 2]));
    }, { maxKeys: 10 });
    const failed = await Promise.allSettled([reads.load(1), reads.load(2)]);
    expect(failed.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    fail = false;
    expect(await reads.load(3)).to.equal(6);
  });
});
