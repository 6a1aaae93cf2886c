import { setTimeout as delay } from 'node:timers/promises';

/** Exponential backoff with full jitter, capped: attempt 1 waits up to base, attempt n up to base·2^(n-1). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

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
        await delay(backoffDelay(attempt, options.baseMs, options.maxMs), undefined, { signal: options.signal });
      }
    }
  }
  return { ok: false, error: lastError, attempts: options.maxAttempts };
}
