import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import mongoose from 'mongoose';
import type { AppConfig } from '../../../config/index.js';
import { topicNames } from '../../../kernel/contracts/analysis-events.js';
import { WORKER_GROUP } from '../../../workers/worker-app.js';
import { tapTopic } from '../../harness/kafka-tap.js';
import { waitUntil } from '../../../kernel/wait.js';
import { envFor, spawnApp, type AppProcess } from '../../harness/processes.js';
import { dropNamespace, testConfig, uniqueNamespace } from '../../harness/test-app.js';

describe('emotion worker processes: partition split and failover', () => {
  let config: AppConfig;
  let workers: AppProcess[];
  let kafka: Kafka;

  before(async function () {
    this.timeout(90_000);
    config = testConfig(uniqueNamespace('failover'));
    kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
    const env = (name: string) => envFor(config, { INSTANCE_ID: name, METRICS_PORT: '0', APP__KAFKA__SESSION_TIMEOUT_MS: '6000', APP__KAFKA__PARTITIONS: '6' });
    workers = [spawnApp('worker-a', 'worker', env('worker-a')), spawnApp('worker-b', 'worker', env('worker-b'))];
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitUntil(
        'both workers in the group with partitions',
        async () => {
          const { groups } = await admin.describeGroups([`${config.kafka.topicPrefix}${WORKER_GROUP}`]);
          const group = groups[0];
          return group?.state === 'Stable' && group.members.length === 2;
        },
        60_000,
      );
    } finally {
      await admin.disconnect();
    }
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await dropNamespace(config);
  });

  it('when one of two workers is killed mid-stream, then its partitions are taken over and no request is lost', async function () {
    this.timeout(120_000);
    const topics = topicNames(config.kafka.topicPrefix);
    const statuses = await tapTopic(config.kafka.brokers, topics.analysisStatus);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const total = 240;
    const diaryIds = Array.from({ length: total }, (_, i) => String(50_000 + i));
    const completed = () => new Set(statuses.messages.map((m) => m.json<{ status: string; diaryId: string }>()).filter((s) => s.status === 'COMPLETED').map((s) => s.diaryId));
    try {
      const send = (ids: string[]) =>
        producer.send({
          topic: topics.analysisRequested,
          messages: ids.map((diaryId) => ({
            key: diaryId,
            value: JSON.stringify({
              eventId: randomUUID(),
              occurredAt: new Date().toISOString(),
              diaryId,
              userId: '1',
              revision: 1,
              type: 'analysis.requested',
              title: null,
              content: `Entry ${diaryId}: I was worried all day, but the evening with friends was lovely.`,
              language: 'en',
            }),
          })),
        });
      await send(diaryIds.slice(0, 100));
      // Kill worker A without any shutdown while the stream is under way.
      await waitUntil('first completions', async () => completed().size >= 30, 30_000);
      await workers[0]!.kill();
      for (let i = 100; i < total; i += 20) await send(diaryIds.slice(i, i + 20));
      expect(workers[0]!.child.signalCode).to.equal('SIGKILL');

      await waitUntil('every request completed', async () => completed().size === total, 90_000);
      expect([...completed()].sort()).to.deep.equal([...diaryIds].sort());
      const mongo = await mongoose.createConnection(config.mongo.url).asPromise();
      try {
        const stored = await mongo.collection('diary_analyses').distinct('diaryId');
        expect(stored.sort()).to.deep.equal([...diaryIds].sort());
      } finally {
        await mongo.close();
      }
    } finally {
      await producer.disconnect();
      await statuses.stop();
    }
  });
});
