/**
 * The baseline of bench/worker-throughput.ts: the least a kafkajs consumer can do for an analysis
 * request. It reads the same request topic in a consumer group of its own, batch by batch, and
 * per batch produces every request's PROCESSING in one request, runs the same offline analyzer on
 * each, and produces every COMPLETED (the same status events as the worker's, with the same
 * summary) in a second one, with the same acks; nothing else: no validation beyond JSON.parse, no
 * store, no stale or duplicate checks, no retries, no DLQ, kafkajs resolving and committing each
 * batch when it returns. Run as a child process:
 *   KAFKA_BROKERS=... REQUEST_TOPIC=... STATUS_TOPIC=... GROUP_ID=... [PARTITIONS_CONCURRENTLY=3] \
 *     node --import tsx bench/worker-bare-consumer.ts
 */
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { AnalysisRequested } from '../kernel/contracts/analysis-events.js';
import { createOfflineAnalyzer } from '../workers/analyzers/offline/offline-analyzer.js';
import { statusEvent, summarize } from '../workers/analysis-outputs.js';

const { KAFKA_BROKERS, REQUEST_TOPIC, STATUS_TOPIC, GROUP_ID } = process.env;
if (!KAFKA_BROKERS || !REQUEST_TOPIC || !STATUS_TOPIC || !GROUP_ID) {
  console.error('worker-bare-consumer: KAFKA_BROKERS, REQUEST_TOPIC, STATUS_TOPIC and GROUP_ID are required');
  process.exit(2);
}
const partitionsConcurrently = Number(process.env.PARTITIONS_CONCURRENTLY ?? 3);

const kafka = new Kafka({ clientId: 'bench-bare-worker', brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.WARN });
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
// The worker's fetch settings, so both wait for data the same way.
const consumer = kafka.consumer({ groupId: GROUP_ID, maxWaitTimeInMs: 1_000 });
const analyzer = createOfflineAnalyzer();

const statusMessages = (events: ReturnType<typeof statusEvent>[], requestIds: Array<string | undefined>) =>
  events.map((event, i) => ({ key: event.diaryId, value: JSON.stringify(event), headers: { eventId: event.eventId, ...(requestIds[i] ? { requestId: requestIds[i] } : {}) } }));

await producer.connect();
await consumer.connect();
await consumer.subscribe({ topic: REQUEST_TOPIC, fromBeginning: true });
await consumer.run({
  partitionsConsumedConcurrently: partitionsConcurrently,
  eachBatch: async ({ batch }) => {
    const requests = batch.messages.map((m) => JSON.parse(m.value!.toString('utf8')) as AnalysisRequested);
    const requestIds = batch.messages.map((m) => m.headers?.requestId?.toString());
    await producer.send({ topic: STATUS_TOPIC, acks: -1, messages: statusMessages(requests.map((req) => statusEvent(req, { status: 'PROCESSING' })), requestIds) });
    const completed = [];
    for (const req of requests) {
      const result = await analyzer.analyze({ title: req.title, content: req.content, language: req.language });
      completed.push(statusEvent(req, { status: 'COMPLETED', summary: summarize(result, analyzer.name) }));
    }
    await producer.send({ topic: STATUS_TOPIC, acks: -1, messages: statusMessages(completed, requestIds) });
  },
});
console.log(`worker-bare-consumer: group ${GROUP_ID} on ${REQUEST_TOPIC}`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    const timer = setTimeout(() => process.exit(1), 10_000);
    void Promise.allSettled([consumer.disconnect(), producer.disconnect()]).then(() => {
      clearTimeout(timer);
      process.exit(0);
    });
  });
}
