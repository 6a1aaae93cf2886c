import path from 'node:path';
import { startProcess, tcpOpen, waitFor } from './process.js';
import type { RunningService } from './mariadb.js';

export interface RestartableService extends RunningService {
  /** Starts the server again on the same port after stop(). */
  start(): Promise<void>;
}

/**
 * A private Redis on 127.0.0.1, with persistence off (tests and local development) or, `persistent`,
 * an append-only file synced every second as production runs it (the chaos soak restarts it).
 */
export async function startRedis(dataDir: string, port: number, logDir: string, options: { persistent?: boolean } = {}): Promise<RestartableService> {
  const persistence = options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--save', '', '--appendonly', 'no'];
  let stopCurrent: () => Promise<void> = async () => undefined;
  const start = async () => {
    const proc = startProcess(
      'redis',
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, ...persistence, '--protected-mode', 'no'],
      { cwd: dataDir, logFile: path.join(logDir, 'redis.log') },
    );
    stopCurrent = () => proc.stop(5_000);
    await waitFor('redis', () => tcpOpen(port), 20_000, proc.child);
  };
  await start();
  return { name: 'redis', port, url: `redis://127.0.0.1:${port}`, start, stop: () => stopCurrent() };
}
