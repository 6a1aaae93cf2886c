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
  // kafkajs (GroupCoordinatorNotFound: every broker refused while it looked for one)
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSRequestTimeoutError',
]);

/** MongoDB server codes of a server that is stopping or not the primary any more: the request was not at fault. */
const MONGO_UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436]);
/** Driver labels on errors the driver itself treats as "the server went away" (it resets the pool, or retries). */
const MONGO_UNAVAILABLE_LABELS = ['ResetPool', 'RetryableWriteError', 'RetryableError', 'SystemOverloadedError'];

/**
 * Messages of a connection lost under a request (a Mongo bulk write reports it only in its
 * message), and of a store shutting down: FerretDB answers InternalError (code 1) "… context
 * canceled" for an operation its shutdown cancelled (the chaos soak got a 500 from one), and
 * passes on PostgreSQL's shutdown and start-up answers.
 */
const UNAVAILABLE_MESSAGE =
  /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|socket has been ended by the other party|^connection \d+ to \S+ closed|context canceled|terminating connection due to administrator command|the database system is (?:shutting down|starting up|in recovery mode)|SQLSTATE 57P0[1-3]/;

/** The error a wrapper carries: `cause`, or sequelize's `parent` (the driver's error). */
const inner = (e: unknown): unknown => (e as { cause?: unknown }).cause ?? (e as { parent?: unknown }).parent;

export function isDependencyUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 4; e = inner(e), depth++) {
    if (typeof e !== 'object') return false;
    if (UNAVAILABLE_NAMES.has((e as Error).name)) return true;
    // SQLSTATE class 08: connection exception (the MariaDB connection dropped under a query).
    if (String((e as { sqlState?: unknown }).sqlState ?? '').startsWith('08')) return true;
    const { code, hasErrorLabel } = e as { code?: unknown; hasErrorLabel?: (label: string) => boolean };
    if (/^Mongo/.test((e as Error).name) && typeof code === 'number' && MONGO_UNAVAILABLE_CODES.has(code)) return true;
    if (typeof hasErrorLabel === 'function' && MONGO_UNAVAILABLE_LABELS.some((label) => hasErrorLabel.call(e, label))) return true;
    if (UNAVAILABLE_MESSAGE.test(String((e as Error).message ?? ''))) return true;
  }
  return false;
}
