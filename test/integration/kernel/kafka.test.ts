import { expect } from 'chai';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { serviceUrls } from '../../harness/services.js';
import { uniqueNamespace } from '../../harness/test-app.js';

describe('Kafka (KRaft) with kafkajs', () => {
  const topic = `${uniqueNamespace('kafka')}.split`;
  const group = `${topic}.group`;
  let kafka: Kafka;
  const consumers: Consumer[] = [];

  before(async () => {
    kafka = new Kafka({ clientId: 'test', brokers: serviceUrls().KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 4, replicationFactor: 1 }] });
    await admin.disconnect();
  });

  after(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
  });

  it('when two consumers share a group, then they split the partitions and together receive every message once', async () => {
    const received = new Map<string, Array<{ partition: number; value: string }>>([['a', []], ['b', []]]);
    const assignments = new Map<string, number[]>();
    for (const name of ['a', 'b']) {
      const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000 });
      consumers.push(consumer);
      consumer.on(consumer.events.GROUP_JOIN, (e) => assignments.set(name, e.payload.memberAssignment[topic] ?? []));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          received.get(name)!.push({ partition, value: String(message.value) });
        },
      });
    }
    // Wait until the group has settled with both members holding partitions.
    const deadline = Date.now() + 20_000;
    while (!((assignments.get('a')?.length ?? 0) > 0 && (assignments.get('b')?.length ?? 0) > 0 && (assignments.get('a')!.length + assignments.get('b')!.length === 4))) {
      if (Date.now() > deadline) throw new Error(`group did not settle: ${JSON.stringify([...assignments])}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 40 }, (_, i) => ({ key: `key-${i}`, value: `m${i}` }));
    await producer.send({ topic, messages });
    await producer.disconnect();

    const total = () => received.get('a')!.length + received.get('b')!.length;
    const until = Date.now() + 20_000;
    while (total() < 40 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));

    const a = received.get('a')!;
    const b = received.get('b')!;
    expect(total()).to.equal(40);
    expect(new Set([...a, ...b].map((m) => m.value)).size).to.equal(40);
    const partitionsA = new Set(a.map((m) => m.partition));
    const partitionsB = new Set(b.map((m) => m.partition));
    expect([...partitionsA].filter((p) => partitionsB.has(p))).to.deep.equal([]);
    expect(a.length).to.be.greaterThan(0);
    expect(b.length).to.be.greaterThan(0);
  });
});
