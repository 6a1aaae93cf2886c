import type { Consumer } from 'kafkajs';
import type { HealthCheck } from './health.js';
import type { Logger } from './logger.js';

/**
 * Watches a kafkajs consumer for a crash it will not recover from by itself. kafkajs restarts a
 * consumer after retriable errors (a broker away, retries exhausted), but not after a
 * non-retriable one (an error marked `retriable: false`, a TypeError from our own code): the
 * consumer is then disconnected for good while the process looks healthy. That is turned into a
 * failing readiness check named after the consumer and `onFatal`, which stops the process so its
 * supervisor starts a new one.
 */
export function watchConsumerCrashes(consumer: Consumer, deps: { name: string; log: Logger; onFatal: (err: Error) => void }): HealthCheck {
  let dead: Error | undefined;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return;
    dead = payload.error;
    deps.log.error({ err: payload.error, consumer: deps.name }, 'consumer crashed and will not restart; stopping the process');
    deps.onFatal(payload.error);
  });
  return {
    name: deps.name,
    check: async () => {
      if (dead) throw new Error(`${deps.name} crashed`);
    },
  };
}
