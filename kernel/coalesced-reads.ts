/**
 * Point reads by key, answered together (the DataLoader pattern): reads that arrive while a batch
 * is in flight wait for it to return and then go out as the next batch, one `loadMany` for all of
 * them. A lone read goes out at once (after the current microtask), so nothing waits on a timer,
 * and every read is answered by a query issued after it was asked (never by an older answer).
 * Under a burst (a reconnect storm) N reads cost about N / batch size queries.
 */
export function createCoalescedReads<K, V>(loadMany: (keys: K[]) => Promise<Map<K, V>>, options: { maxKeys: number }) {
  type Waiter = { resolve: (value: V | undefined) => void; reject: (err: unknown) => void };
  const waiting = new Map<K, Waiter[]>();
  let inFlight = false;
  let scheduled = false;

  function run(): void {
    scheduled = false;
    if (inFlight || waiting.size === 0) return;
    inFlight = true;
    const batch = new Map<K, Waiter[]>();
    for (const [key, waiters] of waiting) {
      if (batch.size >= options.maxKeys) break;
      batch.set(key, waiters);
    }
    for (const key of batch.keys()) waiting.delete(key);
    loadMany([...batch.keys()])
      .then(
        (found) => {
          for (const [key, waiters] of batch) for (const w of waiters) w.resolve(found.get(key));
        },
        (err: unknown) => {
          for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
        },
      )
      .finally(() => {
        inFlight = false;
        run();
      });
  }

  function load(key: K): Promise<V | undefined> {
    return new Promise<V | undefined>((resolve, reject) => {
      const waiters = waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else waiting.set(key, [{ resolve, reject }]);
      if (!scheduled && !inFlight) {
        scheduled = true;
        queueMicrotask(run);
      }
    });
  }

  return {
    load,
    /** `load` for many keys: what was found, by key (keys not found are absent). */
    async loadMany(keys: K[]): Promise<Map<K, V>> {
      const values = await Promise.all(keys.map(load));
      const found = new Map<K, V>();
      keys.forEach((key, i) => {
        const value = values[i];
        if (value !== undefined) found.set(key, value);
      });
      return found;
    },
  };
}
