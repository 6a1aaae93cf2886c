import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import type { Consumer } from 'kafkajs';
import { superviseConsumer } from '../../../kernel/consumer-health.js';
import { isDependencyUnavailable } from '../../../kernel/dependency-errors.js';
import type { Logger } from '../../../kernel/logger.js';
import { waitUntil } from '../../../kernel/wait.js';

const quiet = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as unknown as Logger;

/** The two consumer events the supervisor listens to, emitted as kafkajs emits them. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const events = { CRASH: 'consumer.crash', GROUP_JOIN: 'consumer.group_join' } as Consumer['events'];
  const consumer = { events, on: (name: string, listener: (e: unknown) => void) => emitter.on(name, listener) } as unknown as Pick<Consumer, 'on' | 'events'>;
  return {
    consumer,
    crash: (error: Error, restart = false) => emitter.emit(events.CRASH, { payload: { error, restart, groupId: 'g' } }),
    joined: () => emitter.emit(events.GROUP_JOIN, { payload: { groupId: 'g' } }),
  };
}

function kafkaError(name: string, cause?: unknown): Error {
  return Object.assign(new Error(name), { name, cause });
}

describe('consumer supervisor', () => {
  it('when the brokers could not be reached, wrapped as kafkajs wraps it, then that is recognised; a bug is not', () => {
    expect(isDependencyUnavailable(kafkaError('KafkaJSNonRetriableError', kafkaError('KafkaJSGroupCoordinatorNotFound')))).to.equal(true);
    expect(isDependencyUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).to.equal(true);
    expect(isDependencyUnavailable(new TypeError('x is not a function'))).to.equal(false);
    expect(isDependencyUnavailable(kafkaError('KafkaJSNonRetriableError', kafkaError('KafkaJSProtocolError')))).to.equal(false);
  });

  it('when kafkajs gives up on a consumer because no broker answered, then it is started again, readiness fails until it is back in its group, and the process lives on', async () => {
    const { consumer, crash, joined } = fakeConsumer();
    const fatal: Error[] = [];
    let starts = 0;
    const supervisor = superviseConsumer(consumer, { name: 'c', log: quiet, onFatal: (e) => fatal.push(e), start: async () => void starts++ });
    crash(kafkaError('KafkaJSNonRetriableError', kafkaError('KafkaJSGroupCoordinatorNotFound')));
    let failed: unknown;
    await supervisor.check().catch((e: unknown) => (failed = e));
    expect(String(failed)).to.include('c is reconnecting');
    await waitUntil('started again', () => starts === 1, 2_000);
    joined();
    await supervisor.check();
    expect(fatal).to.deep.equal([]);
  });

  it('when the restart itself fails while the broker is away, then it tries again, further apart', async () => {
    const { consumer, crash, joined } = fakeConsumer();
    const at: number[] = [];
    const supervisor = superviseConsumer(consumer, {
      name: 'c',
      log: quiet,
      onFatal: () => undefined,
      start: async () => {
        at.push(Date.now());
        if (at.length < 2) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        joined();
      },
    });
    const crashedAt = Date.now();
    crash(kafkaError('KafkaJSConnectionError'));
    await waitUntil('two starts', () => at.length === 2 || undefined, 5_000);
    expect(at[0]! - crashedAt).to.be.within(400, 900);
    expect(at[1]! - at[0]!).to.be.within(900, 1_600);
    await supervisor.check();
  });

  it('when it cannot reach Kafka for longer than its patience, or crashes on anything else, then the process is asked to stop', async () => {
    const away = fakeConsumer();
    const fatal: Error[] = [];
    superviseConsumer(away.consumer, {
      name: 'away',
      log: quiet,
      onFatal: (e) => fatal.push(e),
      patienceMs: 200,
      start: async () => void away.crash(kafkaError('KafkaJSConnectionError')),
    });
    away.crash(kafkaError('KafkaJSConnectionError'));
    await waitUntil('given up', () => fatal.length === 1, 5_000);

    const buggy = fakeConsumer();
    let starts = 0;
    const supervisor = superviseConsumer(buggy.consumer, { name: 'buggy', log: quiet, onFatal: (e) => fatal.push(e), start: async () => void starts++ });
    buggy.crash(new TypeError('a bug'));
    expect(fatal.at(-1)?.message).to.equal('a bug');
    let failed: unknown;
    await supervisor.check().catch((e: unknown) => (failed = e));
    expect(String(failed)).to.include('buggy crashed');
    await new Promise((r) => setTimeout(r, 700));
    expect(starts).to.equal(0);
  });

  it('when kafkajs restarts the consumer itself, or the process stopped it, then nothing is done', async () => {
    const { consumer, crash } = fakeConsumer();
    let starts = 0;
    const fatal: Error[] = [];
    const supervisor = superviseConsumer(consumer, { name: 'c', log: quiet, onFatal: (e) => fatal.push(e), start: async () => void starts++ });
    crash(kafkaError('KafkaJSNumberOfRetriesExceeded'), true);
    await supervisor.check();
    supervisor.stop();
    crash(kafkaError('KafkaJSConnectionError'));
    await new Promise((r) => setTimeout(r, 700));
    expect(starts).to.equal(0);
    expect(fatal).to.deep.equal([]);
  });
});
