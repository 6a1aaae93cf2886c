import { expect } from 'chai';
import type { Sequelize } from 'sequelize';
import { isDeadlock, transactionWithRetry } from '../../../kernel/sql-transactions.js';

const deadlock = () => Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { name: 'SequelizeDatabaseError', parent: { sqlState: '40001', errno: 1213 } });

/** A stand-in for sequelize.transaction that fails the first `failures` runs with `error`. */
function flakyDatabase(failures: number, error: () => Error) {
  let runs = 0;
  const sequelize = {
    transaction: async (work: (t: unknown) => Promise<unknown>) => {
      runs++;
      if (runs <= failures) throw error();
      return work({});
    },
  } as unknown as Sequelize;
  return { sequelize, runs: () => runs };
}

describe('transactions retried on deadlock', () => {
  it('when the database picks the transaction as a deadlock victim, then it runs again from the start and its result is returned', async () => {
    const db = flakyDatabase(2, deadlock);
    expect(await transactionWithRetry(db.sequelize, async () => 'done')).to.equal('done');
    expect(db.runs()).to.equal(3);
  });

  it('when it keeps deadlocking, or fails otherwise, then the error is thrown (after the attempts, or at once)', async () => {
    const always = flakyDatabase(10, deadlock);
    const err = await transactionWithRetry(always.sequelize, async () => 'never', 3).catch((e: unknown) => e);
    expect(isDeadlock(err)).to.equal(true);
    expect(always.runs()).to.equal(3);
    const other = flakyDatabase(1, () => new Error('Unknown column'));
    await transactionWithRetry(other.sequelize, async () => 'never').catch(() => undefined);
    expect(other.runs()).to.equal(1);
  });
});
