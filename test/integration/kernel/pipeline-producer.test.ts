import { expect } from 'chai';
import { Kafka, logLevel, Partitioners, type ProducerConfig, type RecordMetadata } from 'kafkajs';
import { createPipelineProducer, type PipelineProducer } from '../../../kernel/clients/kafka-producer.js';
import { serviceUrls } from '../../harness/services.js';
import { tapTopic, type KafkaTap } from '../../harness/kafka-tap.js';
import { uniqueNamespace } from '../../harness/test-app.js';

const PARTITIONS = 6;

/** The partition kafkajs's default partitioner picks for `key`. */
function partitionOf(key: string): number {
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({ partitionId, leader: 1, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 }));
  return Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata, message: { key, value: null } });
}

describe('pipeline producer: concurrent sends go out grouped, on a real broker', function () {
  this.timeout(60_000);
  const topic = `${uniqueNamespace('producer')}.grouped`;
  let brokers: string[];
  let kafka: Kafka;
  /** Produce requests the pipeline producer's kafkajs producers sent (kafkajs's own instrumentation). */
  let produceRequests = 0;
  const countingKafka = {
    producer(config?: ProducerConfig) {
      const producer = kafka.producer(config);
      producer.on(producer.events.REQUEST, (e) => {
        if (e.payload.apiName === 'Produce') produceRequests++;
      });
      return producer;
    },
  } as unknown as Kafka;
  let producer: PipelineProducer;
  let tap: KafkaTap;

  before(async () => {
    brokers = serviceUrls().KAFKA_BROKERS.split(',');
    kafka = new Kafka({ clientId: 'test-producer', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] });
    await admin.disconnect();
    producer = createPipelineProducer(countingKafka, { idempotent: true, metadataMaxAgeMs: 60_000, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 300 } });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'warm-up', value: 'warm-up' }] });
    tap = await tapTopic(brokers, topic);
  });

  after(async () => {
    await tap?.stop();
    await producer?.disconnect();
  });

  it('when 30 callers send at once, then about two produce requests carry them, every message lands once in order per key, and each caller is answered with its own partitions', async () => {
    produceRequests = 0;
    const senders = Array.from({ length: 30 }, (_, s) => ({ key: `caller-${s}`, values: Array.from({ length: 5 }, (_, i) => `caller-${s}:${i}`) }));
    const results: RecordMetadata[][] = await Promise.all(
      senders.map(({ key, values }, s) =>
        s % 2 === 0
          ? producer.send({ topic, messages: values.map((value) => ({ key, value })) })
          : producer.sendBatch({ topicMessages: [{ topic, messages: values.map((value) => ({ key, value })) }] }),
      ),
    );
    // Sends made in one tick go out together (so would sends made while one is in flight).
    expect(produceRequests).to.be.at.most(3);
    senders.forEach(({ key }, s) => {
      expect(results[s]!.map((r) => r.partition), key).to.deep.equal([partitionOf(key)]);
    });
    const landed = await tap.waitFor(1 + 150, 20_000);
    for (const { key, values } of senders) {
      const mine = landed.filter((m) => m.key === key);
      expect(mine.map((m) => m.value), key).to.deep.equal(values);
      expect(new Set(mine.map((m) => m.partition))).to.deep.equal(new Set([partitionOf(key)]));
    }
  });

  it('when one send of a group cannot be written, then every send of that group fails and the next sends are written', async () => {
    const missingTopic = `${topic}.does-not-exist`;
    const lone = producer.send({ topic, messages: [{ key: 'lone', value: 'lone' }] });
    await new Promise((resolve) => setImmediate(resolve)); // 'lone' is in flight: the next two queue behind it
    const group = await Promise.allSettled([
      producer.send({ topic, messages: [{ key: 'grouped', value: 'grouped' }] }),
      producer.send({ topic: missingTopic, messages: [{ key: 'grouped', value: 'nowhere' }] }),
    ]);
    expect((await lone).map((r) => r.partition)).to.deep.equal([partitionOf('lone')]);
    expect(group.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    await producer.send({ topic, messages: [{ key: 'after', value: 'after' }] });
    const after = await tap.waitFor(1, 20_000, (m) => m.key === 'after');
    expect(after.map((m) => m.value)).to.deep.equal(['after']);
  });
});
