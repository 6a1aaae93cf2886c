/**
 * `npm start`: one command for local development. Starts MariaDB, Redis, Kafka and the
 * MongoDB-wire server with their data under .data/ (unless MARIADB_URL, REDIS_URL, MONGO_URL,
 * KAFKA_BROKERS are set), applies migrations, then runs the API and the emotion worker as child
 * processes until Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/index.js';
import { needsEmbeddingSidecar } from '../workers/analyzers/index.js';
import { startLocalServices } from './services/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** EMOTION_DIARY_DATA_DIR and EMOTION_DIARY_FREE_PORTS=1 let a second copy (or a test) run beside the first. */
const dataDir = process.env.EMOTION_DIARY_DATA_DIR ?? path.join(root, '.data');
const DEV_PORTS = process.env.EMOTION_DIARY_FREE_PORTS === '1' ? undefined : { mariadb: 3307, redis: 6380, mongo: 27018, kafka: 9093, embedding: 8089 };
const PROCESSES = (process.env.START_PROCESSES ?? 'api,worker').split(',').filter(Boolean);

/**
 * The API and the worker run in process groups of their own, like the services: a Ctrl-C in the
 * terminal reaches only this script, which stops them first and the services after, in order.
 */
function run(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/main.ts'), ...args], { cwd: root, env, stdio: 'inherit', detached: true });
}

/**
 * The worker's analyzer as the worker will read it (profile, then environment). The services'
 * URLs are not known yet, so a profile that needs them given cannot be loaded here: placeholders
 * stand in for them (they do not decide the analyzer).
 */
function workerAnalyzer(): string {
  const placeholders = { MARIADB_URL: 'mariadb://127.0.0.1/x', MONGO_URL: 'mongodb://127.0.0.1/x', REDIS_URL: 'redis://127.0.0.1', KAFKA_BROKERS: '127.0.0.1:9092' };
  try {
    return loadConfig({ ...placeholders, ...process.env, APP_PROFILE: process.env.APP_PROFILE ?? 'development' }).worker.analyzer;
  } catch {
    // The worker will report the configuration error itself; no sidecar for it meanwhile.
    return 'offline';
  }
}

function exitCode(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
}

async function main(): Promise<void> {
  console.log(`[start] local services under ${dataDir}`);
  // Only the embedding and ensemble analyzers need the embedding sidecar.
  const embedding = needsEmbeddingSidecar(workerAnalyzer());
  const services = await startLocalServices({ rootDir: dataDir, ports: DEV_PORTS, durable: true, embedding });
  const urls = services.urls;
  const withDb = (url: string, db: string) => (new URL(url).pathname.length > 1 ? url : `${url.replace(/\/$/, '')}/${db}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    APP_PROFILE: process.env.APP_PROFILE ?? 'development',
    MARIADB_URL: withDb(urls.MARIADB_URL, 'emotion_diary'),
    MONGO_URL: withDb(urls.MONGO_URL, 'emotion_diary'),
    REDIS_URL: urls.REDIS_URL,
    KAFKA_BROKERS: urls.KAFKA_BROKERS,
    ...(urls.EMBEDDING_URL ? { EMBEDDING_URL: urls.EMBEDDING_URL } : {}),
  };
  console.log(`[start] services ready: ${Object.entries(urls).map(([k, v]) => `${k}=${v}`).join(' ')}`);

  const migrateCode = await exitCode(run(['migrate', 'up'], env));
  if (migrateCode !== 0) {
    await services.stop();
    process.exit(migrateCode);
  }

  const children = PROCESSES.map((name) => run([name], { ...env, INSTANCE_ID: `local-${name}` }));
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('[start] stopping');
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? exitCode(c) : Promise.resolve(c.exitCode))));
    await services.stop();
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stopAll(0));
  for (const child of children) void exitCode(child).then((code) => stopAll(code));
}

main().catch((err: unknown) => {
  console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
