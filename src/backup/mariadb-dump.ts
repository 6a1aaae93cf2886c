import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as mariadb from 'mariadb';
import { BackupError, type DataDigest } from './manifest.js';
import { digestSqlDump } from './sql-dump-digest.js';

export interface MariaDbTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export function mariaDbTarget(url: string): MariaDbTarget {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(database)) throw new BackupError('mariadb.url must name a database matching [A-Za-z0-9_]+');
  return { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database };
}

/** Options that decide how rows are rendered; the dump and its verification must use the same. */
const RENDERING = ['--hex-blob', '--default-character-set=utf8mb4', '--order-by-primary', '--skip-dump-date', '--tz-utc'];

/**
 * Credentials go to the client tools through a private option file, never on the command line
 * (where `ps` would show them) nor in the environment.
 */
async function withOptionFile<T>(target: MariaDbTarget, fn: (optionFile: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'emotion-diary-mariadb-'));
  const file = path.join(dir, 'client.cnf');
  const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = ['[client]', `host=${quote(target.host)}`, `port=${target.port}`, 'protocol=TCP', `user=${quote(target.user)}`];
  if (target.password) lines.push(`password=${quote(target.password)}`);
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  try {
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a client tool; its stdout goes to `stdout` (or is returned for digesting), stderr into the error. */
function runTool(command: string, args: string[], io: { stdin?: string; stdout?: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const streams: Array<Promise<unknown>> = [];
    if (io.stdin) streams.push(pipeline(createReadStream(io.stdin), child.stdin));
    else child.stdin.end();
    if (io.stdout) streams.push(pipeline(child.stdout, createWriteStream(io.stdout, { mode: 0o600 })));
    else child.stdout.resume();
    child.on('error', (err) => reject(new BackupError(`cannot run ${command}: ${err.message} (is the MariaDB client installed?)`, { cause: err })));
    child.on('close', (code) => {
      Promise.all(streams).then(
        () => (code === 0 ? resolve() : reject(new BackupError(`${command} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`))),
        (err: unknown) => reject(new BackupError(`${command}: ${String(err)}`, { cause: err })),
      );
    });
  });
}

/** A consistent (single-transaction) dump with routines and triggers, and the per-table digests of it. */
export async function dumpDatabase(target: MariaDbTarget, file: string): Promise<Record<string, DataDigest>> {
  await withOptionFile(target, (optionFile) =>
    runTool('mariadb-dump', [`--defaults-extra-file=${optionFile}`, '--single-transaction', '--routines', '--triggers', ...RENDERING, target.database], { stdout: file }),
  );
  return digestSqlDump(createReadStream(file));
}

/** Loads a dump into the (existing) target database. */
export async function loadDump(target: MariaDbTarget, file: string): Promise<void> {
  await withOptionFile(target, (optionFile) =>
    runTool('mariadb', [`--defaults-extra-file=${optionFile}`, '--binary-mode', '--default-character-set=utf8mb4', target.database], { stdin: file }),
  );
}

/** Digests of the database as it is now, rendered exactly like a backup's dump. */
export async function digestDatabase(target: MariaDbTarget): Promise<Record<string, DataDigest>> {
  return withOptionFile(target, async (optionFile) => {
    const child = spawn('mariadb-dump', [`--defaults-extra-file=${optionFile}`, '--single-transaction', '--no-create-info', '--skip-triggers', ...RENDERING, target.database], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const digests = await digestSqlDump(child.stdout);
    const code = await exited;
    if (code !== 0) throw new BackupError(`mariadb-dump exited with ${code}: ${stderr.trim()}`);
    // Empty tables print no INSERT; list every table so they count as 0 rows.
    for (const table of await listTables(target)) digests[table] ??= emptyDigest();
    return Object.fromEntries(Object.entries(digests).sort(([a], [b]) => a.localeCompare(b)));
  });
}

function emptyDigest(): DataDigest {
  return { rows: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' };
}

async function withConnection<T>(target: MariaDbTarget, fn: (conn: mariadb.Connection) => Promise<T>): Promise<T> {
  const conn = await mariadb.createConnection({ host: target.host, port: target.port, user: target.user, password: target.password, connectTimeout: 5_000 });
  try {
    return await fn(conn);
  } finally {
    await conn.end();
  }
}

/** Base tables and views of the target database (none when it does not exist). */
export async function listTables(target: MariaDbTarget): Promise<string[]> {
  return withConnection(target, async (conn) => {
    const rows = (await conn.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name', [target.database])) as Array<{ name: string }>;
    return rows.map((r) => r.name);
  });
}

/** Drops every table and view of the target database (restore --force), keeping the database. */
export async function dropAllTables(target: MariaDbTarget): Promise<void> {
  const tables = await listTables(target);
  if (tables.length === 0) return;
  await withConnection(target, async (conn) => {
    await conn.query(`USE \`${target.database}\``);
    await conn.query('SET FOREIGN_KEY_CHECKS = 0');
    const views = (await conn.query('SELECT table_name AS name FROM information_schema.views WHERE table_schema = ?', [target.database])) as Array<{ name: string }>;
    const viewNames = new Set(views.map((v) => v.name));
    const quoted = (names: string[]) => names.map((n) => `\`${n.replace(/`/g, '``')}\``).join(', ');
    if (viewNames.size > 0) await conn.query(`DROP VIEW IF EXISTS ${quoted([...viewNames])}`);
    const baseTables = tables.filter((t) => !viewNames.has(t));
    if (baseTables.length > 0) await conn.query(`DROP TABLE IF EXISTS ${quoted(baseTables)}`);
  });
}
