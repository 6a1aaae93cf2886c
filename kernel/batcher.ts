/**
 * Gathers items for `maxDelayMs` (or until `maxItems`) and hands them to `write` together, one
 * batch at a time, in order. A failed write is reported to `onError` and its items are dropped:
 * callers use it for records that are repaired elsewhere (acks replayed on the next connect).
 */
export function createBatcher<T>(write: (batch: T[]) => Promise<void>, options: { maxDelayMs: number; maxItems: number; onError: (err: unknown, batch: T[]) => void }) {
  let queued: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();

  function flush(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    if (queued.length === 0) return writing;
    const batch = queued;
    queued = [];
    writing = writing.then(() => write(batch)).catch((err: unknown) => options.onError(err, batch));
    return writing;
  }

  return {
    add(item: T): void {
      queued.push(item);
      if (queued.length >= options.maxItems) void flush();
      else timer ??= setTimeout(() => void flush(), options.maxDelayMs);
    },
    /** Writes what is queued now and resolves when every batch so far is written. */
    flush,
  };
}
