/** A dependency the process needs to serve traffic. `check` rejects when it is not usable. */
export interface HealthCheck {
  name: string;
  check(): Promise<void>;
}

const TIMED_OUT = new Error('readiness check timed out');

export interface ReadinessReport {
  status: 'ok' | 'fail';
  checks: Record<string, { status: 'ok' | 'fail'; latencyMs: number; error?: string }>;
}

/**
 * Runs every check in parallel, each bounded by `timeoutMs`, so one hung dependency cannot hang
 * /readyz. The report names what failed and whether it timed out, but never carries the driver's
 * message (hosts, ports, user names): that goes to `onFailure`, for the logs.
 */
export async function checkReadiness(checks: HealthCheck[], timeoutMs: number, onFailure?: (name: string, err: unknown) => void): Promise<ReadinessReport> {
  const entries = await Promise.all(
    checks.map(async ({ name, check }) => {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(TIMED_OUT), timeoutMs);
          }),
        ]);
        return [name, { status: 'ok' as const, latencyMs: Date.now() - started }] as const;
      } catch (err) {
        onFailure?.(name, err);
        const error = err === TIMED_OUT ? `timed out after ${timeoutMs} ms` : 'unavailable';
        return [name, { status: 'fail' as const, latencyMs: Date.now() - started, error }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report = Object.fromEntries(entries);
  return { status: entries.every(([, r]) => r.status === 'ok') ? 'ok' : 'fail', checks: report };
}
