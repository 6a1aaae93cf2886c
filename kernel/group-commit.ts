/**
 * Writes answered together (group commit): calls that arrive while a flush is in flight wait for
 * it to finish and then go out as the next flush, one `flushMany` for all of them, in the order
 * they were submitted. A lone call goes out at once (after the current microtask), so nothing
 * waits on a timer, and at most one flush is in flight at a time. N concurrent writers then cost
 * about one round trip each flush instead of N.
 *
 * A flush answers every call in it with its own result (`flushMany` returns one per input, in
 * order), or fails them all with its error: a caller must treat a failure as "maybe not written"
 * and write again, as it would without the grouping.
 */
export function createGroupCommit<I, R>(
  flushMany: (inputs: I[]) => Promise<R[]>,
  options: {
    /** A flush takes calls until their summed weight would pass this (it always takes at least one). */
    maxWeight: number;
    weight?: (input: I) => number;
  },
) {
  type Call = { input: I; resolve: (result: R) => void; reject: (err: unknown) => void };
  const weight = options.weight ?? (() => 1);
  const queue: Call[] = [];
  let inFlight = false;
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    if (inFlight || queue.length === 0) return;
    inFlight = true;
    let taken = 0;
    let total = 0;
    while (taken < queue.length) {
      const w = weight(queue[taken]!.input);
      if (taken > 0 && total + w > options.maxWeight) break;
      total += w;
      taken++;
    }
    const calls = queue.splice(0, taken);
    let flushed: Promise<R[]>;
    try {
      flushed = flushMany(calls.map((c) => c.input));
    } catch (err) {
      flushed = Promise.reject(err);
    }
    flushed
      .then(
        (results) => {
          if (results.length !== calls.length) throw new Error(`a group commit answered ${results.length} of ${calls.length} calls`);
          calls.forEach((c, i) => c.resolve(results[i]!));
        },
        (err: unknown) => {
          for (const c of calls) c.reject(err);
        },
      )
      .catch((err: unknown) => {
        for (const c of calls) c.reject(err);
      })
      .finally(() => {
        inFlight = false;
        flush();
      });
  }

  return {
    submit(input: I): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        queue.push({ input, resolve, reject });
        if (!scheduled && !inFlight) {
          scheduled = true;
          queueMicrotask(flush);
        }
      });
    },
  };
}

export type GroupCommit<I, R> = ReturnType<typeof createGroupCommit<I, R>>;
