/**
 * Errors that mean "a backing service is unreachable right now", not "this request is wrong" nor
 * "the code is broken". They become 503 with Retry-After, so clients back off and retry.
 */
const UNAVAILABLE_NAMES = new Set([
  // ioredis
  'MaxRetriesPerRequestError',
  // sequelize
  'SequelizeConnectionError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionAcquireTimeoutError',
  'SequelizeHostNotReachableError',
  'SequelizeConnectionTimedOutError',
  // mongodb driver
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  // kafkajs
  'KafkaJSConnectionError',
  'KafkaJSNumberOfRetriesExceeded',
]);

/** The error a wrapper carries: `cause`, or sequelize's `parent` (the driver's error). */
const inner = (e: unknown): unknown => (e as { cause?: unknown }).cause ?? (e as { parent?: unknown }).parent;

export function isDependencyUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 4; e = inner(e), depth++) {
    if (typeof e !== 'object') return false;
    if (UNAVAILABLE_NAMES.has((e as Error).name)) return true;
    // SQLSTATE class 08: connection exception (the MariaDB connection dropped under a query).
    if (String((e as { sqlState?: unknown }).sqlState ?? '').startsWith('08')) return true;
    const message = String((e as Error).message ?? '');
    // The connection went away under a request (a Mongo bulk write reports it only in its message).
    if (/Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|socket has been ended by the other party|^connection \d+ to \S+ closed/.test(message)) return true;
  }
  return false;
}
