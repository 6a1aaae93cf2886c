import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createKafka } from '../../../kernel/clients/kafka.js';
import { createMetrics } from '../../../kernel/metrics.js';
import { createOutboxRelay, type OutboxRelay } from '../../../src/outbox/outbox-relay.js';
import { createOutboxRepository } from '../../../src/outbox/outbox-repository.js';
import { tapTopic, type KafkaTap } from '../../harness/kafka-tap.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

/**
 * A write that commits while the relay is in the middle of a batch that found nothing: the
 * relay's `wake()` then has no sleep to cut short. The wake must be remembered and the relay look
 * again right after the batch, not a whole poll interval later.
 */
describe('outbox relay wake-up (real MariaDB and Kafka)', function () {
  this.timeout(60_000);
  const POLL_MS = 20_000;
  let app: TestApp;
  let relay: OutboxRelay | undefined;
  let tap: KafkaTap | undefined;

  before(async () => {
    // The app's own relay stays off: only the relay under test publishes.
    app = await startTestApp('relaywake', { outbox: { enabled: false } });
  });

  after(async () => {
    await relay?.stop();
    await tap?.stop();
    await app.destroy();
  });

  it('when a write is woken for while an empty batch is running, then it is published at once, not after the poll interval', async () => {
    const outbox = createOutboxRepository(app.clients.sequelize, app.sql);
    let hold: { reached: () => void; go: Promise<void> } | undefined;
    relay = createOutboxRelay({
      sequelize: app.clients.sequelize,
      outbox: {
        ...outbox,
        async claimDue(limit, transaction) {
          const rows = await outbox.claimDue(limit, transaction);
          const h = hold;
          hold = undefined;
          // The claim has looked (and seen nothing); the batch is still running.
          if (h) {
            h.reached();
            await h.go;
          }
          return rows;
        },
      },
      kafka: createKafka(app.config, app.log),
      topics: app.topics,
      metrics: createMetrics(),
      log: app.log,
      options: { batchSize: 100, pollIntervalMs: POLL_MS, maxBackoffMs: 30_000, topicLayout: { partitions: 1 } },
    });
    relay.start();
    tap = await tapTopic(app.config.kafka.brokers, app.topics.analysisRequested);
    // Let the first batch (empty) finish, so the relay sleeps for the poll interval.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    let reached!: () => void;
    const atClaim = new Promise<void>((resolve) => (reached = resolve));
    let go!: () => void;
    hold = { reached, go: new Promise<void>((resolve) => (go = resolve)) };
    relay.wake();
    await atClaim;

    const eventId = randomUUID();
    await app.clients.sequelize.transaction((transaction) =>
      outbox.append({ eventId, topic: app.topics.analysisRequested, key: `wake-${eventId}`, payload: { eventId }, headers: {} }, transaction),
    );
    relay.wake();
    const wokenAt = Date.now();
    go();

    const [message] = await tap.waitFor(1, 10_000, (m) => m.headers.eventId === eventId);
    expect(message, 'the row written during the batch').to.not.equal(undefined);
    expect(Date.now() - wokenAt, 'ms from the wake to the message').to.be.below(5_000);
  });
});
