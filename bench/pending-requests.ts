/**
 * Request/answer bookkeeping over a message channel (a child's IPC, the inspector's websocket):
 * numbered requests, each answered once or failed after its timeout.
 */
export function pendingRequests() {
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  return {
    /** Sends request `id` through `send` and waits for `answer(id, ...)` or `fail(id, ...)`. */
    request<T>(what: string, timeoutMs: number, send: (id: number) => void): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const id = ++nextId;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${what}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        send(id);
      });
    },
    answer(id: number, value: unknown): void {
      pending.get(id)?.resolve(value);
      pending.delete(id);
    },
    fail(id: number, error: Error): void {
      pending.get(id)?.reject(error);
      pending.delete(id);
    },
    /** Fails every request still waiting (the channel closed). */
    failAll(error: Error): void {
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    },
  };
}
