import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as mariadb from 'mariadb';
import { startProcess, waitFor } from './process.js';
import type { RestartableService } from './redis.js';

const run = promisify(execFile);

export interface RunningService {
  name: string;
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface MariaDbOptions {
  /** Names the process and its log file (`<name>.log`); default `mariadb`. */
  name?: string;
  /** Extra server options (replication roles). A `--log-bin` among them keeps the binary log on. */
  serverArgs?: string[];
}

/**
 * A private MariaDB server: its own datadir, socket and port, bound to 127.0.0.1, root without a
 * password. Tuned for tests (no binlog unless `serverArgs` ask for one, relaxed flushing); data
 * survives restarts in `dataDir`.
 */
export async function startMariaDb(dataDir: string, port: number, logDir: string, options: MariaDbOptions = {}): Promise<RestartableService> {
  const name = options.name ?? 'mariadb';
  const serverArgs = options.serverArgs ?? [];
  const binlog = serverArgs.some((a) => a.startsWith('--log-bin'));
  const datadir = path.join(dataDir, 'data');
  // A temp dir of its own: servers bootstrapped at the same time in the shared /tmp once collided
  // on an internal temporary table's file name (mariadb-install-db: "Unknown table mysql.tmp_user_sys").
  const tmpdir = path.join(dataDir, 'tmp');
  mkdirSync(tmpdir, { recursive: true });
  const isRoot = process.getuid?.() === 0;
  const userArgs = isRoot ? ['--user=root'] : [];
  if (!existsSync(path.join(datadir, 'mysql'))) {
    mkdirSync(datadir, { recursive: true });
    await run('mariadb-install-db', [
      '--no-defaults',
      `--datadir=${datadir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      `--tmpdir=${tmpdir}`,
      ...userArgs,
    ]);
  }
  let stopCurrent: () => Promise<void> = async () => undefined;
  const start = async () => {
    const proc = startProcess(
      name,
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        `--tmpdir=${tmpdir}`,
        `--socket=${path.join(dataDir, 'mariadb.sock')}`,
        `--pid-file=${path.join(dataDir, 'mariadb.pid')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        ...(binlog ? [] : ['--skip-log-bin']),
        '--innodb-buffer-pool-size=256M',
        '--innodb-flush-log-at-trx-commit=2',
        '--innodb-doublewrite=0',
        '--max-connections=500',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_unicode_ci',
        ...serverArgs,
        ...userArgs,
      ],
      { cwd: dataDir, logFile: path.join(logDir, `${name}.log`) },
    );
    await waitFor(
      name,
      async () => {
        const conn = await mariadb.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 500 });
        await conn.end();
        return true;
      },
      60_000,
      proc.child,
    );
    stopCurrent = () => proc.stop(30_000);
  };
  await start();
  return { name, port, url: `mariadb://root@127.0.0.1:${port}`, start, stop: () => stopCurrent() };
}
