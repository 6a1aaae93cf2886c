import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startProcess, tcpOpen, waitFor, type ManagedProcess } from './process.js';
import type { RunningService } from './mariadb.js';

const run = promisify(execFile);

/** The superuser the private cluster is created with (trust auth on 127.0.0.1 only). */
export const POSTGRES_USER = 'ferret';

/** The newest Debian PostgreSQL server binaries (`/usr/lib/postgresql/<major>/bin`), or POSTGRES_BIN_DIR. */
export function postgresBinDir(): string {
  if (process.env.POSTGRES_BIN_DIR) return process.env.POSTGRES_BIN_DIR;
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base)
    ? readdirSync(base)
        .filter((d) => existsSync(path.join(base, d, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql: run scripts/provision.sh');
  return path.join(base, majors[0]!, 'bin');
}

/**
 * PostgreSQL refuses to run as root. As root, the server runs as this OS user (created by
 * Debian's package; POSTGRES_OS_USER overrides), through `setpriv`, which execs in place so
 * signals reach the postmaster itself.
 */
function runAs(): { uid: number; gid: number; wrap: (cmd: string, args: string[]) => [string, string[]] } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = process.env.POSTGRES_OS_USER ?? 'postgres';
  const ids = (flag: string) => {
    try {
      return Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
    } catch {
      throw new Error(`running as root: the OS user "${user}" for PostgreSQL is missing (scripts/provision.sh creates it)`);
    }
  };
  const uid = ids('-u');
  const gid = ids('-g');
  return { uid, gid, wrap: (cmd, args) => ['setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', cmd, ...args]] };
}

/** Lets `uid` reach `dir` (each ancestor needs the execute bit for others; temp dirs are 0700). */
function openPathTo(dir: string): void {
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) chmodSync(d, (mode & 0o7777) | 0o011);
  }
}

export interface PostgresOptions {
  /** Durable settings (npm start) keep fsync; tests trade durability for speed. */
  durable?: boolean;
  /** Extra `-c name=value` server settings (the EXPLAIN test loads auto_explain). */
  settings?: Record<string, string | number>;
}

/**
 * A private PostgreSQL cluster: its own data dir and port, TCP on 127.0.0.1 only (no Unix socket),
 * superuser `ferret` with trust authentication. Stopped with a fast shutdown (SIGINT), so open
 * client connections do not hold it up.
 */
export async function startPostgres(dataDir: string, port: number, logDir: string, options: PostgresOptions = {}): Promise<RunningService & { logFile: string }> {
  const bin = postgresBinDir();
  const pgdata = path.join(dataDir, 'pgdata');
  const owner = runAs();
  const cmd = (name: string, args: string[]): [string, string[]] => (owner ? owner.wrap(path.join(bin, name), args) : [path.join(bin, name), args]);
  mkdirSync(dataDir, { recursive: true });
  if (owner) {
    openPathTo(dataDir);
    chownSync(dataDir, owner.uid, owner.gid);
  }
  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
    const [file, args] = cmd('initdb', ['-D', pgdata, '-U', POSTGRES_USER, '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await run(file, args, { cwd: dataDir });
  }
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    port,
    unix_socket_directories: '',
    max_connections: 300,
    shared_buffers: '256MB',
    // The app's hot queries fetch a handful of rows by index; small-table plans must not flip to scans.
    random_page_cost: 1.1,
    log_min_messages: 'warning',
    ...(options.durable ? { synchronous_commit: 'off' } : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
    ...options.settings,
  };
  const logFile = path.join(logDir, `postgres-${port}.log`);
  const [file, args] = cmd('postgres', ['-D', pgdata, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])]);
  const proc: ManagedProcess = startProcess('postgres', file, args, { cwd: dataDir, logFile, stopSignal: 'INT' });
  await waitFor(
    'postgres',
    async () => {
      if (!(await tcpOpen(port))) return false;
      await run(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', POSTGRES_USER, '-q']);
      return true;
    },
    60_000,
    proc.child,
  );
  return { name: 'postgres', port, url: `postgres://${POSTGRES_USER}@127.0.0.1:${port}/postgres`, logFile, stop: () => proc.stop(30_000) };
}
