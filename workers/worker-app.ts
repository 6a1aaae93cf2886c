import type { Consumer } from 'kafkajs';
import type { Connection } from 'mongoose';
import { withDeadline } from '../kernel/backoff.js';
import { createWorkerClients } from '../kernel/clients/index.js';
import { superviseConsumer } from '../kernel/consumer-health.js';
import type { AppConfig } from '../config/index.js';
import { defineMongoModels, syncMongoIndexes } from '../models/mongo/index.js';
import { startConsumerLagReporter } from '../kernel/consumer-lag.js';
import { ensureTopics, topicLayout } from '../kernel/clients/kafka.js';
import { pipelineProducerOptions } from '../kernel/clients/kafka-producer.js';
import { topicNames, type TopicNames } from '../kernel/contracts/analysis-events.js';
import { createLogger, type Logger } from '../kernel/logger.js';
import { createMetrics, type Metrics } from '../kernel/metrics.js';
import { createMetricsServer } from '../kernel/metrics-server.js';
import { pingMongo } from '../kernel/clients/mongo.js';
import { createAnalyzer, needsEmbeddingSidecar, type Analyzer } from './analyzers/index.js';
import { createAnalysisBatchHandler, EMBEDDING_CHUNK_SIZE, OFFLINE_CHUNK_SIZE } from './analysis-batch-handler.js';
import { createAnalysisStore } from './analysis-store.js';
import { createPipelinePublisher, type PipelinePublisher } from './pipeline-publisher.js';

export interface WorkerApp {
  config: AppConfig;
  log: Logger;
  metrics: Metrics;
  mongo: Connection;
  /** What analyses the requests (on threads when `worker.analyzerThreads` > 0 with the offline analyzer). */
  analyzer: Analyzer;
  topics: TopicNames;
  groupId: string;
  /** Base URL of the metrics/health server, once started. */
  metricsUrl(): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export const WORKER_GROUP = 'emotion-worker';

function chunking(analyzer: AppConfig['worker']['analyzer'], parallel: boolean): { chunkSize: number; analyzeConcurrently: boolean; insertFirst?: boolean } {
  // On the event loop the offline analyzer is synchronous: one call at a time is as fast; on threads a chunk's calls go out together.
  if (analyzer === 'offline') return { chunkSize: OFFLINE_CHUNK_SIZE, analyzeConcurrently: parallel, insertFirst: true };
  if (needsEmbeddingSidecar(analyzer)) return { chunkSize: EMBEDDING_CHUNK_SIZE, analyzeConcurrently: true };
  return { chunkSize: 1, analyzeConcurrently: false };
}

/**
 * The worker process's composition root: consumer group `emotion-worker` on the request topic,
 * several partitions in flight at once (order kept within each), results in MongoDB, status and
 * DLQ records back to Kafka, and a small HTTP server for /metrics and health.
 */
export async function createWorkerApp(
  config: AppConfig,
  deps: {
    analyzer?: Analyzer;
    log?: Logger;
    onFatal?: (err: Error) => void;
    /** Wraps the status/DLQ publisher (tests inject Kafka failures between store and commit). */
    wrapPublisher?: (publisher: PipelinePublisher) => PipelinePublisher;
  } = {},
): Promise<WorkerApp> {
  const log = deps.log ?? createLogger(config, 'worker');
  const metrics = createMetrics(undefined, { instance: config.app.instanceId, process: 'worker' });
  const topics = topicNames(config.kafka.topicPrefix);
  const groupId = `${config.kafka.topicPrefix}${WORKER_GROUP}`;
  const analyzer =
    deps.analyzer ??
    createAnalyzer(config.worker, {
      log,
      onLlmOutcome: (outcome) => metrics.llmRequestsTotal.inc({ outcome }),
      onEmbeddingOutcome: (outcome) => metrics.embeddingAnalysesTotal.inc({ outcome }),
      onThreadError: (err) => log.error({ err }, 'an offline analyzer thread died; it is started again'),
    });

  const clients = await createWorkerClients(config, log);
  const { mongo, kafka } = clients;
  const models = defineMongoModels(mongo);
  const admin = kafka.admin();
  const rawPublisher = createPipelinePublisher(kafka, topics, pipelineProducerOptions(config.kafka));
  const publisher = deps.wrapPublisher?.(rawPublisher) ?? rawPublisher;
  const handleBatch = createAnalysisBatchHandler({
    analyzer,
    store: createAnalysisStore(models),
    publisher,
    metrics,
    log,
    retry: { maxAttempts: config.worker.maxAttempts, baseMs: config.worker.backoffBaseMs, maxMs: config.worker.backoffMaxMs },
  }, chunking(config.worker.analyzer, analyzer.parallel === true));

  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: config.kafka.sessionTimeoutMs,
    // Partitions added to the request topic are noticed this soon; the group then rebalances onto them.
    metadataMaxAge: config.kafka.metadataMaxAgeMs,
    // Bounds how long a stop waits for an idle long-poll fetch; data still arrives immediately.
    maxWaitTimeInMs: 1_000,
    heartbeatInterval: Math.min(3_000, Math.floor(config.kafka.sessionTimeoutMs / 3)),
    // Offsets are committed only for chunks whose handler returned: at-least-once.
    retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 2_000 },
  });
  let inFlight = new AbortController();
  const runConsumer = async () => {
    await consumer.connect();
    await consumer.run({
      partitionsConsumedConcurrently: config.worker.partitionsConcurrently,
      // The handler resolves each chunk's last offset itself, once its work is stored and produced.
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const { topic, partition, messages } = batch;
        try {
          await handleBatch({
            topic,
            partition,
            messages,
            heartbeat,
            resolveOffset,
            mayContinue: () => isRunning() && !isStale() && !inFlight.signal.aborted,
            signal: inFlight.signal,
          });
          metrics.kafkaMessagesConsumedTotal.inc({ group: WORKER_GROUP, outcome: 'ok' }, messages.length);
        } catch (err) {
          metrics.kafkaMessagesConsumedTotal.inc({ group: WORKER_GROUP, outcome: 'error' });
          if (!inFlight.signal.aborted) log.error({ err, partition, offset: batch.firstOffset() }, 'analysis requests not handled; they will be redelivered');
          throw err;
        }
      },
    });
  };
  const consumerHealth = superviseConsumer(consumer, { name: 'analysis-consumer', log, onFatal: (err) => deps.onFatal?.(err), start: runConsumer });
  let lag: { stop(): Promise<void> } | undefined;

  const metricsServer = createMetricsServer({
    registry: metrics.registry,
    exposeMetrics: config.metrics.enabled,
    readinessTimeoutMs: config.http.readinessTimeoutMs,
    checks: [
      { name: 'mongo', check: () => pingMongo(mongo) },
      { name: 'kafka', check: async () => void (await admin.describeCluster()) },
      consumerHealth,
    ],
    onCheckFailed: (name, err) => log.warn({ err, dependency: name }, 'readiness check failed'),
  });

  return {
    config,
    log,
    metrics,
    mongo,
    analyzer,
    topics,
    groupId,
    metricsUrl: () => metricsServer.url(),
    async start() {
      await syncMongoIndexes(models);
      await admin.connect();
      await ensureTopics(admin, topics, topicLayout(config.kafka));
      await rawPublisher.connect();
      await consumer.subscribe({ topic: topics.analysisRequested, fromBeginning: true });
      inFlight = new AbortController();
      await runConsumer();
      lag = startConsumerLagReporter({ admin, groupId, topic: topics.analysisRequested, metrics, log });
      await metricsServer.listen(config.metrics.port, config.http.host);
      log.info({ groupId, metrics: metricsServer.url(), analyzer: analyzer.name }, 'worker started');
    },
    /** Bounded as a whole: a broker that does not answer cannot hold the process. */
    async stop() {
      consumerHealth.stop();
      const steps = async () => {
        // Let in-flight analyses finish within the grace period; then abandon them uncommitted so
        // another worker takes them over after the rebalance.
        const abandon = setTimeout(() => inFlight.abort(), config.http.shutdownGraceMs);
        await consumer.disconnect().catch((err: unknown) => log.warn({ err }, 'consumer disconnect failed'));
        clearTimeout(abandon);
        await lag?.stop();
        await rawPublisher.disconnect().catch(() => undefined);
        await admin.disconnect().catch(() => undefined);
        await metricsServer.close();
      };
      await withDeadline(steps(), config.http.shutdownGraceMs + 10_000, () => log.warn('shutdown took too long; closing the connections anyway'));
      await analyzer.close?.();
      await clients.close();
      log.info('worker stopped');
    },
  };
}
