import { Kafka, logLevel, type Admin, type LogEntry } from 'kafkajs';
import type { AppConfig } from '../../config/index.js';
import type { TopicNames } from '../contracts/analysis-events.js';
import type { Logger } from '../logger.js';
import { rememberConsumerMemberIds } from './kafka-member-identity.js';
import { stopIdleRequestQueueTimers } from './kafka-request-queue.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * Broker answers kafkajs logs as errors although they are part of normal operation: a broker
 * warming up (no group coordinator yet), consumers joining a group (rebalancing), topics just
 * created (no leader yet). kafkajs retries them by itself.
 */
const TRANSIENT = [
  'The group coordinator is not available',
  'The coordinator is loading and hence can\'t process requests',
  'This is not the correct coordinator for this group',
  'The group is rebalancing, so a rejoin is needed',
  'There is no leader for this topic-partition as we are in the middle of a leadership election',
  'This server is not the leader for that topic-partition',
  'This server does not host this topic-partition',
  // Logged for every failed CreateTopics, also when another process created the topics a moment
  // before, which kafkajs then treats as success; any other failure is thrown to the caller.
  'Topic creation errors',
];

/**
 * kafkajs warnings that do not apply here: an idempotent producer with bounded retries is safe
 * because a producer whose send failed for good is replaced (kernel/clients/kafka-producer.ts).
 */
const EXPECTED_WARNINGS = ['Limiting retries for the idempotent producer may invalidate EoS guarantees'];

/** How long a transient answer may keep coming before it is worth a warning (once per streak). */
const TRANSIENT_PATIENCE_MS = 30_000;

/**
 * Turns kafkajs log entries into bunyan lines: transient broker answers at debug, unless the same
 * one keeps coming for longer than TRANSIENT_PATIENCE_MS, which is logged once as a warning.
 */
export function kafkaLogSink(log: Logger, now: () => number = Date.now): (entry: { level: number; message: string; extra: Record<string, unknown> }) => void {
  const streaks = new Map<string, { since: number; last: number; count: number; warned: boolean }>();
  let lastTransientCrash = Number.NEGATIVE_INFINITY;
  return ({ level, message, extra }) => {
    const t = now();
    // A consumer that crashes on a transient answer ("Crash: KafkaJSProtocolError: <answer>") and
    // is restarted by kafkajs at once ("Restarting the consumer in 200ms") is the same retry.
    const crashed = message.startsWith('Crash: ') ? TRANSIENT.find((answer) => message.includes(answer)) : undefined;
    if (crashed) lastTransientCrash = t;
    if (message.startsWith('Restarting the consumer') && t - lastTransientCrash < 1_000) {
      log.debug({ kafka: extra }, message);
      return;
    }
    if (EXPECTED_WARNINGS.includes(message)) {
      log.debug({ kafka: extra }, message);
      return;
    }
    // By prefix: kafkajs words some answers longer ("... can't process requests for this group").
    const answer = typeof extra.error === 'string' ? extra.error : undefined;
    const brokerError = (answer !== undefined && TRANSIENT.some((t) => answer.startsWith(t)) ? answer : undefined) ?? crashed;
    if (!brokerError) {
      log[LEVELS[level] ?? 'info']({ kafka: extra }, message);
      return;
    }
    let streak = streaks.get(brokerError);
    // kafkajs retries within seconds; a pause longer than its longest retry ends a streak.
    if (!streak || t - streak.last > 10_000) streaks.set(brokerError, (streak = { since: t, last: t, count: 0, warned: false }));
    streak.count += 1;
    streak.last = t;
    if (!streak.warned && t - streak.since > TRANSIENT_PATIENCE_MS) {
      streak.warned = true;
      log.warn({ kafka: extra, occurrences: streak.count, sinceMs: t - streak.since }, `kafka keeps answering: ${brokerError}`);
    } else log.debug({ kafka: extra }, message);
  };
}

/**
 * A kafkajs client. `retries` bounds how long connects and requests retry before failing: callers
 * with their own backoff (the outbox relay) use few, so a dead broker is noticed quickly.
 */
export function createKafka(config: Pick<AppConfig, 'kafka' | 'app'>, log: Logger, options: { retries?: number } = {}): Kafka {
  rememberConsumerMemberIds();
  stopIdleRequestQueueTimers();
  const kafkaLog = log.child({ component: 'kafkajs' });
  const { sasl } = config.kafka;
  return new Kafka({
    clientId: `${config.kafka.clientId}-${config.app.instanceId}`,
    brokers: config.kafka.brokers,
    ssl: config.kafka.ssl,
    ...(sasl ? { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as never } : {}),
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    // At most 2 s between retries: a broker back from a restart is found within 2 s (the chaos soak
    // measured 5-7 s to the first delivery after a Kafka restart with 5 s; 1 s apart made a
    // consumer give up looking for its group coordinator while a restarted broker loaded it).
    retry: { initialRetryTime: 200, maxRetryTime: 2_000, retries: options.retries ?? 10 },
    // kafkajs's INFO (joins, rebalances, restarts) when the process logs at debug, else WARN and above.
    logLevel: kafkaLog.level() <= 20 ? logLevel.INFO : logLevel.WARN,
    logCreator: () => {
      const sink = kafkaLogSink(kafkaLog);
      return ({ level, log: entry }: LogEntry) => {
        const { message, ...extra } = entry;
        sink({ level, message, extra });
      };
    },
  });
}

/** How the pipeline topics are created: partitions, replicas (-1: the brokers' default) and min.insync.replicas. */
export interface TopicLayout {
  partitions: number;
  replicationFactor?: number;
  minInSyncReplicas?: number;
}

/** The configured layout of the pipeline topics. */
export function topicLayout(kafka: Pick<AppConfig['kafka'], 'partitions' | 'replicationFactor' | 'minInSyncReplicas'>): TopicLayout {
  return { partitions: kafka.partitions, replicationFactor: kafka.replicationFactor, minInSyncReplicas: kafka.minInSyncReplicas };
}

/**
 * Creates the pipeline topics if missing. Idempotent; safe to call from every process at start.
 * Topics that exist are left as they are (adding partitions or replicas is an operator's step).
 */
export async function ensureTopics(admin: Admin, topics: TopicNames, layout: TopicLayout, options: { timeoutMs?: number } = {}): Promise<void> {
  const names = Object.values(topics);
  const configEntries = layout.minInSyncReplicas === undefined ? [] : [{ name: 'min.insync.replicas', value: String(layout.minInSyncReplicas) }];
  const spec = (topic: string) => ({ topic, numPartitions: layout.partitions, replicationFactor: layout.replicationFactor ?? -1, configEntries });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const existing = new Set(await admin.listTopics());
      const missing = names.filter((t) => !existing.has(t));
      // Another instance may create them at the same moment: kafkajs answers false for topics that
      // exist by then, and the look below waits for their leaders either way.
      if (missing.length > 0) await admin.createTopics({ waitForLeaders: false, topics: missing.map(spec) });
      // On a busy KRaft broker the metadata right after a create can answer
      // UNKNOWN_TOPIC_OR_PARTITION, or list partitions without leaders yet: look again until every
      // topic is served (kafkajs's own waitForLeaders does not retry the first answer).
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      if (metadata.topics.length === names.length && metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      const type = (err as { type?: string }).type;
      if (Date.now() >= deadline || (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE' && type !== 'TOPIC_ALREADY_EXISTS')) throw err;
    }
    if (Date.now() >= deadline) throw new Error(`topics ${names.join(', ')} have no leader for every partition after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
