import path from 'node:path';
import { startProcess, tcpOpen, waitFor } from './process.js';
import type { RunningService } from './mariadb.js';

export interface RestartableService extends RunningService {
  /** Starts the server again on the same port after stop(). */
  start(): Promise<void>;
}

/** A private Redis on 127.0.0.1 with persistence off (tests and local development). */
export async function startRedis(dataDir: string, port: number, logDir: string): Promise<RestartableService> {
  let stopCurrent: () => Promise<void> = async () => undefined;
  const start = async () => {
    const proc = startProcess(
      'redis',
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
      { cwd: dataDir, logFile: path.join(logDir, 'redis.log') },
    );
    stopCurrent = () => proc.stop(5_000);
    await waitFor('redis', () => tcpOpen(port), 20_000, proc.child);
  };
  await start();
  return { name: 'redis', port, url: `redis://127.0.0.1:${port}`, start, stop: () => stopCurrent() };
}
