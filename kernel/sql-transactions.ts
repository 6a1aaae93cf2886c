import type { Sequelize, Transaction } from 'sequelize';

/** SQLSTATE 40001: the database chose this transaction as a deadlock victim (MariaDB error 1213). */
export function isDeadlock(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { parent?: unknown; cause?: unknown }).parent ?? (e as { cause?: unknown }).cause, depth++) {
    if ((e as { sqlState?: unknown }).sqlState === '40001' || (e as { errno?: unknown }).errno === 1213) return true;
  }
  return false;
}

/**
 * Runs `work` in a transaction and runs it again, from the start, when the database rolled it back
 * as a deadlock victim: the retry the error message asks for ("try restarting transaction"). Writes
 * that share the outbox (a delete removing its entry's rows and adding its deletion event while the
 * relay marks rows sent) can deadlock under load; the chaos soak saw it as a 500 on a delete.
 */
export async function transactionWithRetry<T>(sequelize: Sequelize, work: (transaction: Transaction) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sequelize.transaction(work);
    } catch (err) {
      if (attempt >= attempts || !isDeadlock(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
    }
  }
}

/**
 * The driver connection a transaction holds, for the raw-driver paths that must run inside it.
 * Sequelize 6 sets `connection` on every started transaction but leaves it out of its types.
 */
export function connectionOf<C>(transaction: Transaction): C {
  const { connection } = transaction as Transaction & { connection?: C };
  if (!connection) throw new Error('the transaction has not started');
  return connection;
}
