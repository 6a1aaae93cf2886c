import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { createKafka } from '../../../kernel/clients/kafka.js';
import { waitUntil } from '../../../kernel/wait.js';
import { freePort } from '../../../scripts/services/index.js';
import { startKafka } from '../../../scripts/services/kafka.js';
import { startToxiproxy, type Toxiproxy } from '../../../scripts/services/toxiproxy.js';
import { testConfig, testLogger, uniqueNamespace } from '../../harness/test-app.js';

/**
 * The chaos soak found every consumer waiting a whole session timeout before consuming again after
 * a Kafka restart: a consumer that crashed while the broker was away came back as a new member,
 * and the group waited for its old member to time out. A consumer cut off from Kafka (a private
 * broker, reached through toxiproxy) must come back as the member it was, and consume again well
 * within its session timeout once the link heals.
 */
describe('a Kafka consumer cut off from its broker', function () {
  this.timeout(120_000);
  // The default; the consumer crashes some 15 s into the cut (kafkajs's connection retries), within it.
  const SESSION_TIMEOUT_MS = 30_000;
  let dir: string;
  let kafka: Awaited<ReturnType<typeof startKafka>>;
  let toxiproxy: Toxiproxy;
  let consumer: Consumer;
  let producer: Producer;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kafka-rejoin-'));
    const link = { port: await freePort(), advertisedPort: await freePort() };
    kafka = await startKafka(path.join(dir, 'kafka'), await freePort(), dir, { proxiedListeners: [link] });
    toxiproxy = await startToxiproxy(dir);
    await toxiproxy.createProxy('consumer-kafka', link.port, link.advertisedPort);
    const direct = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = direct.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'rejoin', numPartitions: 2 }] });
    await admin.disconnect();
    producer = direct.producer();
    await producer.connect();
    const base = testConfig(uniqueNamespace('rejoin'));
    const config = { ...base, kafka: { ...base.kafka, brokers: [`127.0.0.1:${link.advertisedPort}`] } };
    consumer = createKafka(config, testLogger(config)).consumer({
      groupId: 'rejoin',
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 500,
      retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 1_000 },
    });
  });

  after(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await toxiproxy?.stop();
    await kafka?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the link is cut long enough for the consumer to crash, then it rejoins as the same member and consumes within a few seconds of the link healing', async () => {
    const consumed: string[] = [];
    const joins: string[] = [];
    let crashes = 0;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => void joins.push(payload.memberId));
    consumer.on(consumer.events.CRASH, ({ payload }) => void (crashes += payload.restart ? 1 : 0));
    await consumer.connect();
    await consumer.subscribe({ topic: 'rejoin', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void consumed.push(String(message.value)) });
    await producer.send({ topic: 'rejoin', messages: [{ value: 'before' }] });
    await waitUntil('the first message', () => consumed.includes('before'), 30_000);
    const member = joins.at(-1);

    await toxiproxy.setEnabled('consumer-kafka', false);
    await waitUntil('the consumer crashed and kafkajs restarts it', () => crashes > 0, 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    await toxiproxy.setEnabled('consumer-kafka', true);
    const healedAt = Date.now();
    await producer.send({ topic: 'rejoin', messages: [{ value: 'after' }] });
    await waitUntil('the message sent after the link healed', () => consumed.includes('after'), 30_000);
    const recoveryMs = Date.now() - healedAt;

    expect(joins.at(-1), 'the member id it rejoined with').to.equal(member);
    // A new member would wait for the old one's session (30 s from the cut) to run out: some 14 s.
    expect(recoveryMs, 'ms from the link healing to the next message').to.be.below(8_000);
  });
});
