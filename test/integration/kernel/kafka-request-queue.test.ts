import { createRequire } from 'node:module';
import { expect } from 'chai';
import { createKafka } from '../../../kernel/clients/kafka.js';
import { createLogger } from '../../../kernel/logger.js';
import { testConfig, uniqueNamespace } from '../../harness/test-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('kafkajs request queues on a real broker: no timer loop while idle', function () {
  this.timeout(60_000);

  it('when a producer has connected and sent, then its idle connections stop checking for pending requests, and sends still go out', async () => {
    const config = testConfig(uniqueNamespace('kqueue'));
    const kafka = createKafka(config, createLogger(config, 'test'));
    const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as { prototype: { checkPendingRequests(): void } };
    const original = RequestQueue.prototype.checkPendingRequests;
    let checks = 0;
    RequestQueue.prototype.checkPendingRequests = function (this: unknown) {
      checks++;
      return original.call(this);
    };
    const topic = `${config.kafka.topicPrefix}queue`;
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    try {
      await admin.connect();
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
      await producer.connect();
      await producer.send({ topic, messages: [{ value: 'first' }] });
      await sleep(200);
      checks = 0;
      await sleep(1_000);
      // kafkajs 2.2.4 as released: about a thousand checks a second per open connection.
      const idleChecks = checks;
      await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic, messages: [{ value: `m${i}` }] })));
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(idleChecks, 'checks in 1 s while idle').to.be.below(20);
      expect(offsets[0]!.high).to.equal('21');
    } finally {
      RequestQueue.prototype.checkPendingRequests = original;
      await producer.disconnect();
      await admin.disconnect();
    }
  });
});
