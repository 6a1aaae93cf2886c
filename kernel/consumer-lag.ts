import type { Admin } from 'kafkajs';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * Exports a consumer group's lag (high watermark − committed offset, per partition) on an
 * interval. Failures are logged once per streak and never affect consumption.
 */
export function startConsumerLagReporter(deps: { admin: Admin; groupId: string; topic: string; metrics: Metrics; log: Logger; intervalMs?: number }): { stop(): Promise<void> } {
  const { admin, groupId, topic, metrics } = deps;
  let failing = false;
  let running: Promise<void> = Promise.resolve();

  async function measure(): Promise<void> {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    for (const end of ends) {
      const high = Number(end.high);
      const offset = byPartition.get(end.partition) ?? -1;
      const lag = offset < 0 ? high - Number(end.low) : high - offset;
      metrics.kafkaConsumerLag.set({ group: groupId, topic, partition: String(end.partition) }, Math.max(0, lag));
    }
  }

  const timer = setInterval(() => {
    running = measure().then(
      () => {
        failing = false;
      },
      (err: unknown) => {
        if (!failing) deps.log.warn({ err, groupId }, 'consumer lag measurement failed');
        failing = true;
      },
    );
  }, deps.intervalMs ?? 5_000);
  timer.unref();

  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
