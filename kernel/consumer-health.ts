import type { Consumer } from 'kafkajs';
import { isDependencyUnavailable } from './dependency-errors.js';
import type { HealthCheck } from './health.js';
import type { Logger } from './logger.js';

export interface ConsumerSupervisor extends HealthCheck {
  /** No restart from now on (the process is stopping the consumer itself). */
  stop(): void;
}

/**
 * Watches a kafkajs consumer for a crash it will not recover from by itself. kafkajs restarts a
 * consumer after retriable errors, but not after a non-retriable one, and leaves it disconnected
 * for good while the process looks healthy.
 *
 * - When a backing service could not be reached (`isDependencyUnavailable`: a Kafka restart, a
 *   partition; kafkajs marks some of those non-retriable, e.g. GroupCoordinatorNotFound when every
 *   broker refused while it looked for one, as the chaos soak saw during a Kafka restart), `start` (connect and run
 *   again) is called after a backoff of 0.5 s doubling to 5 s, until the consumer has joined its
 *   group again. Readiness fails meanwhile. A streak longer than `patienceMs` is fatal.
 * - Any other non-retriable crash (a TypeError from our own code, an authorisation error) is fatal
 *   at once.
 * Fatal means a failing readiness check named after the consumer and `onFatal`, which stops the
 * process so its supervisor starts a new one.
 */
export function superviseConsumer(
  consumer: Pick<Consumer, 'on' | 'events'>,
  deps: { name: string; log: Logger; onFatal: (err: Error) => void; start: () => Promise<void>; patienceMs?: number; now?: () => number },
): ConsumerSupervisor {
  const patienceMs = deps.patienceMs ?? 60_000;
  const now = deps.now ?? Date.now;
  let dead: Error | undefined;
  let stopped = false;
  let streak: { since: number; attempts: number } | undefined;
  let timer: NodeJS.Timeout | undefined;

  const fatal = (err: Error, why: string) => {
    dead = err;
    deps.log.error({ err, consumer: deps.name }, `consumer ${why}; stopping the process`);
    deps.onFatal(err);
  };

  const crashed = (err: Error) => {
    if (stopped || dead) return;
    if (!isDependencyUnavailable(err)) return fatal(err, 'crashed and will not restart');
    streak ??= { since: now(), attempts: 0 };
    if (now() - streak.since > patienceMs) return fatal(err, `could not reach Kafka for ${Math.round(patienceMs / 1000)} s`);
    const delayMs = Math.min(5_000, 500 * 2 ** streak.attempts++);
    deps.log.warn({ err, consumer: deps.name, delayMs, attempt: streak.attempts }, 'consumer lost Kafka; restarting it');
    timer = setTimeout(() => {
      timer = undefined;
      if (stopped) return;
      deps.start().catch((e: unknown) => crashed(e instanceof Error ? e : new Error(String(e))));
    }, delayMs);
  };

  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) crashed(payload.error);
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (streak) deps.log.info({ consumer: deps.name, attempts: streak.attempts, ms: now() - streak.since }, 'consumer is back in its group');
    streak = undefined;
  });

  return {
    name: deps.name,
    check: async () => {
      if (dead) throw new Error(`${deps.name} crashed`);
      if (streak) throw new Error(`${deps.name} is reconnecting to Kafka`);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
