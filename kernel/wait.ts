/**
 * Polls `check` every `everyMs` until it returns something other than `undefined`, `false` or
 * `null`, and resolves with that; rejects with "<what> not reached within <ms> ms" after the
 * timeout. Shared by the test harness, the benchmarks and the service starters.
 */
export async function waitUntil<T>(what: string, check: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() >= deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
