import { expect } from 'chai';
import { isDependencyUnavailable } from '../../../kernel/dependency-errors.js';

const error = (name: string, message: string, cause?: unknown) => Object.assign(new Error(message), { name, cause });

describe('dependency errors', () => {
  it('when a connection to a backing service went away under a request, then it is "unavailable" (503), however the driver words it', () => {
    for (const err of [
      error('MongoBulkWriteError', 'connection 12 to 127.0.0.1:42493 closed'),
      error('MongoBulkWriteError', 'read ECONNRESET'),
      error('Error', 'This socket has been ended by the other party'),
      error('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 2).'),
      error('SequelizeDatabaseError', 'write failed', error('Error', 'write EPIPE')),
      // FerretDB cancelling an operation as it shuts down (from a store restart under writes).
      Object.assign(error('MongoServerError', '[msg_update.go:133 handler.(*Handler).updateDocument] [collection.go:227 postgresql.(*collection).UpdateAll] context canceled'), { code: 1 }),
      Object.assign(error('MongoServerError', 'interrupted at shutdown'), { code: 11600 }),
      Object.assign(error('MongoServerError', 'write failed'), { code: 2, hasErrorLabel: (label: string) => label === 'RetryableWriteError' }),
      error('MongoServerError', 'FATAL: terminating connection due to administrator command (SQLSTATE 57P01)'),
      Object.assign(error('SequelizeDatabaseError', '(conn=11, no: 45009, SQLState: 08S01) socket has unexpectedly been closed'), {
        parent: Object.assign(error('SqlError', 'socket has unexpectedly been closed'), { sqlState: '08S01' }),
      }),
    ]) {
      expect(isDependencyUnavailable(err), err.message).to.equal(true);
    }
  });

  it('when the service answered with an error, then it is not "unavailable" (the request or the code is wrong)', () => {
    for (const err of [Object.assign(error('MongoServerError', 'E11000 duplicate key error collection: notifications'), { code: 11000, hasErrorLabel: () => false }), error('MongoBulkWriteError', 'E11000 duplicate key error collection: notifications'), error('TypeError', 'x is not a function'), Object.assign(error('SequelizeDatabaseError', "Unknown column 'x'"), { parent: Object.assign(error('SqlError', "Unknown column 'x'"), { sqlState: '42S22' }) })]) {
      expect(isDependencyUnavailable(err), err.message).to.equal(false);
    }
  });
});
