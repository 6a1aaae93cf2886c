import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import { FERRETDB_BINARY, FERRETDB_VERSION, startProcess, waitFor } from './process.js';
import type { RunningService } from './mariadb.js';

function hasMongod(): boolean {
  try {
    execFileSync('mongod', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A MongoDB-wire server: a real mongod when one is installed, otherwise FerretDB v1 on SQLite
 * (built by provision.sh). Both listen on 127.0.0.1 only.
 */
export async function startMongoWire(dataDir: string, port: number, logDir: string): Promise<RunningService & { flavour: string }> {
  mkdirSync(dataDir, { recursive: true });
  const useMongod = hasMongod();
  const proc = useMongod
    ? startProcess('mongod', 'mongod', ['--dbpath', dataDir, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'], {
        cwd: dataDir,
        logFile: path.join(logDir, 'mongod.log'),
      })
    : startProcess(
        'ferretdb',
        FERRETDB_BINARY,
        [
          '--handler=sqlite',
          `--sqlite-url=file:${dataDir}/`,
          `--listen-addr=127.0.0.1:${port}`,
          `--state-dir=${dataDir}`,
          '--debug-addr=-',
          '--telemetry=disable',
          '--log-level=warn',
        ],
        { cwd: dataDir, logFile: path.join(logDir, 'ferretdb.log') },
      );
  const url = `mongodb://127.0.0.1:${port}`;
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
    proc.child,
  );
  return { name: 'mongo', port, url, flavour: useMongod ? 'mongod' : `FerretDB ${FERRETDB_VERSION}`, stop: () => proc.stop(10_000) };
}
