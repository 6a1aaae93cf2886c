import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { AppConfig } from '../../config/index.js';
import { createLogger } from '../../kernel/logger.js';
import { createWorkerApp, type WorkerApp } from '../../workers/worker-app.js';
import { tapTopic, type KafkaTap } from './kafka-tap.js';
import { dropNamespace, testConfig, uniqueNamespace } from './test-app.js';

/** A started worker in a namespace of its own, a producer for its requests and taps on what it produces. */
export interface WorkerRig {
  config: AppConfig;
  worker: WorkerApp;
  kafka: Kafka;
  producer: Producer;
  statuses: KafkaTap;
  dlq: KafkaTap;
  /** Stops everything and drops the namespace. */
  stop(): Promise<void>;
}

export async function startWorkerRig(
  label: string,
  overrides: Record<string, unknown>,
  deps: Omit<NonNullable<Parameters<typeof createWorkerApp>[1]>, 'log'> = {},
): Promise<WorkerRig> {
  const config = testConfig(uniqueNamespace(label), overrides);
  const worker = await createWorkerApp(config, { ...deps, log: createLogger(config, 'worker') });
  await worker.start();
  const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const statuses = await tapTopic(config.kafka.brokers, worker.topics.analysisStatus);
  const dlq = await tapTopic(config.kafka.brokers, worker.topics.analysisDlq);
  return {
    config,
    worker,
    kafka,
    producer,
    statuses,
    dlq,
    async stop() {
      await Promise.all([statuses.stop(), dlq.stop(), producer.disconnect()]);
      await worker.stop();
      await dropNamespace(config);
    },
  };
}
