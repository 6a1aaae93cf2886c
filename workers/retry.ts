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
 */
export async function withRetries<T>(
  fn: (attempt: number) => Promise<T>,
  options: { maxAttempts: number; baseMs: number; maxMs: number; signal?: AbortSignal; onRetry?: (attempt: number, error: Error) => void },
): Promise<RetryOutcome<T>> {
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return { ok: true, value: await fn(attempt), attempts: attempt };
    } catch (err) {
      lastError = err instanceof Error ? err : new Error(String(err));
      if (options.signal?.aborted) throw lastError;
      if (attempt < options.maxAttempts) {
        options.onRetry?.(attempt, lastError);
        await delay(backoffDelay(attempt, { baseMs: options.baseMs, maxMs: options.maxMs }), undefined, { signal: options.signal });
      }
    }
  }
  return { ok: false, error: lastError, attempts: options.maxAttempts };
}
