/**
 * Exponential backoff, the one used everywhere (worker retries, outbox relay, LLM calls, consumer
 * restarts, Redis reconnects): attempt n (1-based) waits up to base·2^(n-1), capped at max. With
 * `jitter: 'equal'` (the default) the wait is half that ceiling plus a random half, so retries
 * of many clients spread out but never collapse to zero; `'none'` waits the ceiling.
 */
export function backoffDelay(attempt: number, options: { baseMs: number; maxMs: number; jitter?: 'equal' | 'none' }, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  if (options.jitter === 'none') return ceiling;
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Waits `ms`, or less when `signal` aborts; never rejects (callers check the signal after). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Resolves with `promise`, or with `undefined` once `ms` passed (calling `onLate`); the promise itself keeps running. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, onLate: () => void): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      onLate();
      resolve(undefined);
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
