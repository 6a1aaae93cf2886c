/** A dependency the process needs to serve traffic. `check` rejects when it is not usable. */
export interface HealthCheck {
  name: string;
  check(): Promise<void>;
}

export interface ReadinessReport {
  status: 'ok' | 'fail';
  checks: Record<string, { status: 'ok' | 'fail'; latencyMs: number; error?: string }>;
}

/** Runs every check in parallel, each bounded by `timeoutMs`, so one hung dependency cannot hang /readyz. */
export async function checkReadiness(checks: HealthCheck[], timeoutMs: number): Promise<ReadinessReport> {
  const entries = await Promise.all(
    checks.map(async ({ name, check }) => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { status: 'ok' as const, latencyMs: Date.now() - started }] as const;
      } catch (err) {
        return [name, { status: 'fail' as const, latencyMs: Date.now() - started, error: err instanceof Error ? err.message : String(err) }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report = Object.fromEntries(entries);
  return { status: entries.every(([, r]) => r.status === 'ok') ? 'ok' : 'fail', checks: report };
}
