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

export function isDependencyUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof e !== 'object') return false;
    if (UNAVAILABLE_NAMES.has((e as Error).name)) return true;
    const message = String((e as Error).message ?? '');
    if (/Connection is closed|Stream isn't writeable|ECONNREFUSED/.test(message)) return true;
  }
  return false;
}
