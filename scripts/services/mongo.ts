import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import { FERRETDB_BINARY, FERRETDB_VERSION, freePort, startProcess, waitFor } from './process.js';
import type { RunningService } from './mariadb.js';
import { startPostgres, type PostgresOptions } from './postgres.js';

function hasMongod(): boolean {
  try {
    execFileSync('mongod', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface MongoWireService extends RunningService {
  flavour: string;
  /** Starts the server again on the same port, with the same data, after stop(). */
  start(): Promise<void>;
  /** The PostgreSQL under FerretDB (absent for a real mongod). */
  postgres?: RunningService & { logFile?: string };
}

export interface MongoWireOptions {
  /** Use this PostgreSQL instead of starting one (POSTGRES_URL). */
  postgresUrl?: string;
  postgres?: PostgresOptions;
  /** Force FerretDB even when a mongod is installed (the EXPLAIN test). */
  ferretdb?: boolean;
}

/** Appends FerretDB's connection settings to a PostgreSQL URL (pool size: pgx's default is 4). */
function ferretPostgresUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('pool_max_conns')) u.searchParams.set('pool_max_conns', '32');
  return u.toString();
}

/**
 * A MongoDB-wire server bound to 127.0.0.1: a real mongod when one is installed, otherwise
 * FerretDB v1 (built by provision.sh with the patch in scripts/ferretdb/) on a PostgreSQL of its
 * own, or on `postgresUrl` when given.
 */
export async function startMongoWire(dataDir: string, port: number, logDir: string, options: MongoWireOptions = {}): Promise<MongoWireService> {
  mkdirSync(dataDir, { recursive: true });
  const url = `mongodb://127.0.0.1:${port}`;
  if (!options.ferretdb && !options.postgresUrl && hasMongod()) {
    let stopMongod: () => Promise<void> = async () => undefined;
    const startMongod = async () => {
      const proc = startProcess('mongod', 'mongod', ['--dbpath', dataDir, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'], {
        cwd: dataDir,
        logFile: path.join(logDir, 'mongod.log'),
      });
      stopMongod = () => proc.stop(10_000);
      await waitForPing(url, proc.child);
    };
    await startMongod();
    return { name: 'mongo', port, url, flavour: 'mongod', start: startMongod, stop: () => stopMongod() };
  }

  const pgPort = options.postgresUrl ? 0 : await freePort();
  const startOwnPostgres = () => startPostgres(path.join(dataDir, 'postgres'), pgPort, logDir, options.postgres);
  const postgres = options.postgresUrl ? undefined : await startOwnPostgres();
  const postgresUrl = options.postgresUrl ?? postgres!.url;
  const ferretDir = path.join(dataDir, 'ferretdb');
  mkdirSync(ferretDir, { recursive: true });
  let stopFerret: () => Promise<void> = async () => undefined;
  let stopPostgres = () => postgres?.stop() ?? Promise.resolve();
  const startFerret = async () => {
    const proc = startProcess(
      'ferretdb',
      FERRETDB_BINARY,
      [
        '--handler=postgresql',
        `--postgresql-url=${ferretPostgresUrl(postgresUrl)}`,
        `--listen-addr=127.0.0.1:${port}`,
        `--state-dir=${ferretDir}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=warn',
      ],
      { cwd: ferretDir, logFile: path.join(logDir, `ferretdb-${port}.log`) },
    );
    stopFerret = () => proc.stop(10_000);
    await waitForPing(url, proc.child);
  };
  try {
    await startFerret();
  } catch (err) {
    await stopFerret();
    await postgres?.stop();
    throw err;
  }
  return {
    name: 'mongo',
    port,
    url,
    flavour: `FerretDB ${FERRETDB_VERSION} on PostgreSQL`,
    postgres,
    async start() {
      // Both again, as a host restart would (the data directory is kept).
      if (!options.postgresUrl) stopPostgres = (await startOwnPostgres()).stop;
      await startFerret();
    },
    async stop() {
      await stopFerret();
      await stopPostgres();
    },
  };
}

async function waitForPing(url: string, child: ChildProcess): Promise<void> {
  await waitFor(
    'mongo-wire server',
    async () => {
      const conn = await mongoose.createConnection(`${url}/admin`, { serverSelectionTimeoutMS: 500 }).asPromise();
      try {
        await conn.db!.admin().command({ ping: 1 });
      } finally {
        await conn.close();
      }
      return true;
    },
    30_000,
    child,
  );
}
