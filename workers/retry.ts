import { setTimeout as delay } from 'node:timers/promises';
import { backoffDelay } from '../kernel/backoff.js';

export interface RetryOutcome<T> {
  ok: boolean;
  value?: T;
  error?: Error;
  attempts: number;
}

/**
 * Runs `fn` up to `maxAttempts` times with backoff between attempts. Stops early when the signal
 * aborts (shutdown): the caller must then leave the work uncommitted, not report it failed.
 * `failedOnce` continues after a first attempt the caller made itself (the batch path): the next
 * call is attempt 2, after the same backoff as always.
 */
export async function withRetries<T>(
  fn: (attempt: number) => Promise<T>,
  options: {
    maxAttempts: number;
    baseMs: number;
    maxMs: number;
    signal?: AbortSignal;
    onRetry?: (attempt: number, error: Error) => void;
    failedOnce?: Error;
  },
): Promise<RetryOutcome<T>> {
  let lastError = options.failedOnce;
  for (let attempt = lastError ? 2 : 1; attempt <= options.maxAttempts; attempt++) {
    if (lastError) {
      options.onRetry?.(attempt - 1, lastError);
      await delay(backoffDelay(attempt - 1, { baseMs: options.baseMs, maxMs: options.maxMs }), undefined, { signal: options.signal });
    }
    options.signal?.throwIfAborted();
    try {
      return { ok: true, value: await fn(attempt), attempts: attempt };
    } catch (err) {
      lastError = err instanceof Error ? err : new Error(String(err));
      if (options.signal?.aborted) throw lastError;
    }
  }
  return { ok: false, error: lastError, attempts: Math.max(1, options.maxAttempts) };
}
