/**
 * The soak's deployment on loopback: MariaDB, Redis (append-only, as production runs it), Kafka and
 * the MongoDB-wire store, each restartable; 3 API instances behind nginx and 2 workers, every one
 * its own Node process; and a toxiproxy proxy between every process and every service it uses, so
 * a fault can hit one process's link to one service.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type AppConfig } from '../../config/index.js';
import { createLogger } from '../../kernel/logger.js';
import { freePort, startProcess, type ManagedProcess } from '../../scripts/services/process.js';
import { startKafka } from '../../scripts/services/kafka.js';
import { startMariaDb } from '../../scripts/services/mariadb.js';
import { startMongoWire } from '../../scripts/services/mongo.js';
import { startNginx, type RunningNginx } from '../../scripts/services/nginx.js';
import { startRedis, type RestartableService } from '../../scripts/services/redis.js';
import { startToxiproxy, type Toxiproxy } from '../../scripts/services/toxiproxy.js';
import { runMigrate } from '../../src/cli/migrate-command.js';
import { waitUntil } from '../../kernel/wait.js';
import { openBenchDb, ROOT } from '../bench-support.js';

export const SERVICES = ['mariadb', 'redis', 'kafka', 'mongo'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface AppNode {
  name: string;
  kind: 'api' | 'worker';
  /** Where its health is served (the API's HTTP port, the worker's metrics port). */
  port: number;
  running(): boolean;
  /** SIGKILL: no shutdown at all. */
  kill(): Promise<void>;
  /** SIGTERM: the graceful shutdown production does on a deploy. */
  terminate(): Promise<void>;
  /** Stops it at the end of the run: no restart after this. */
  shutdown(): Promise<void>;
  /** Starts it again and waits until it is ready. */
  start(): Promise<void>;
  starts: number;
  /**
   * Times it exited by itself (a fatal error: the app stops and leaves the restart to its
   * supervisor). The soak is that supervisor, as compose's restart policy or Kubernetes would be:
   * it starts the process again a second later.
   */
  crashes: number;
}

export interface SoakCluster {
  rootDir: string;
  /** nginx, in front of the API instances. */
  url: string;
  config: AppConfig;
  apis: AppNode[];
  workers: AppNode[];
  services: Record<ServiceName, RestartableService>;
  toxiproxy: Toxiproxy;
  /** The toxiproxy proxy between a process and a service. */
  proxyOf(node: string, service: ServiceName): string;
  stop(): Promise<void>;
}

export interface SoakClusterOptions {
  apis: number;
  workers: number;
  /** APP__* settings for every app process. */
  env?: Record<string, string>;
  keepData?: boolean;
}

/** What every app process gets on top of the production profile (see the README's soak section). */
const SOAK_APP_ENV: Record<string, string> = {
  // A SIGKILLed worker holds its partitions until its session times out: the least Kafka allows here.
  APP__KAFKA__SESSION_TIMEOUT_MS: '6000',
  // Simulated users edit and reanalyse far more than the per-hour budget allows a person.
  APP__DIARIES__ANALYSIS_REQUESTS_PER_USER: '1000000',
  // One broker: the production profile's 3 replicas (2 in sync) cannot be placed.
  APP__KAFKA__REPLICATION_FACTOR: '1',
  APP__KAFKA__MIN_IN_SYNC_REPLICAS: '1',
};

export async function startSoakCluster(options: SoakClusterOptions): Promise<SoakCluster> {
  const rootDir = mkdtempSync(path.join(tmpdir(), 'emotion-diary-soak-'));
  const logDir = path.join(rootDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const dir = (name: string) => {
    const d = path.join(rootDir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    if (!options.keepData) rmSync(rootDir, { recursive: true, force: true });
  };

  try {
    const names = [...Array.from({ length: options.apis }, (_, i) => `api-${i + 1}`), ...Array.from({ length: options.workers }, (_, i) => `worker-${i + 1}`)];
    // Kafka tells each process to reconnect through its own proxy: one listener per process.
    const kafkaLinks = await Promise.all(names.map(async () => ({ port: await freePort(), advertisedPort: await freePort() })));
    const [mariadbService, redisService, mongoService, kafkaService] = await Promise.all([
      freePort().then((p) => startMariaDb(dir('mariadb'), p, logDir)),
      freePort().then((p) => startRedis(dir('redis'), p, logDir, { persistent: true })),
      freePort().then((p) => startMongoWire(dir('mongo'), p, logDir)),
      freePort().then((p) => startKafka(dir('kafka'), p, logDir, { proxiedListeners: kafkaLinks })),
    ]);
    const services: Record<ServiceName, RestartableService> = { mariadb: mariadbService, redis: redisService, kafka: kafkaService, mongo: mongoService };
    stops.push(() => Promise.all(Object.values(services).map((s) => s.stop())));

    const toxiproxy = await startToxiproxy(logDir);
    stops.push(() => toxiproxy.stop());
    const proxyOf = (node: string, service: ServiceName) => `${node}-${service}`;
    const proxyPorts = new Map<string, number>();
    for (const [i, node] of names.entries()) {
      for (const service of SERVICES) {
        const proxy =
          service === 'kafka'
            ? await toxiproxy.createProxy(proxyOf(node, service), kafkaLinks[i]!.port, kafkaLinks[i]!.advertisedPort)
            : await toxiproxy.createProxy(proxyOf(node, service), services[service].port);
        proxyPorts.set(proxy.name, proxy.port);
      }
    }

    const namespace = `soak_${randomBytes(3).toString('hex')}`;
    const baseEnv: Record<string, string> = {
      APP_PROFILE: 'production',
      REDIS_KEY_PREFIX: `${namespace}:`,
      KAFKA_TOPIC_PREFIX: `${namespace}.`,
      JWT_SECRET: randomBytes(32).toString('hex'),
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.SOAK_LOG_LEVEL ?? 'warn',
      ...SOAK_APP_ENV,
      ...options.env,
    };
    const direct = {
      MARIADB_URL: `mariadb://root@127.0.0.1:${mariadbService.port}/${namespace}`,
      MONGO_URL: `mongodb://127.0.0.1:${mongoService.port}/${namespace}`,
      REDIS_URL: redisService.url,
      KAFKA_BROKERS: kafkaService.url,
    };
    const urlsThroughProxies = (node: string) => ({
      MARIADB_URL: `mariadb://root@127.0.0.1:${proxyPorts.get(proxyOf(node, 'mariadb'))}/${namespace}`,
      MONGO_URL: `mongodb://127.0.0.1:${proxyPorts.get(proxyOf(node, 'mongo'))}/${namespace}`,
      REDIS_URL: `redis://127.0.0.1:${proxyPorts.get(proxyOf(node, 'redis'))}`,
      KAFKA_BROKERS: `127.0.0.1:${proxyPorts.get(proxyOf(node, 'kafka'))}`,
    });

    // This process talks to the services directly: it sets up and checks, it is not under test.
    const config = loadConfig({ ...baseEnv, ...direct });
    await runMigrate(config, createLogger(config, 'soak'), 'up');
    await raiseDailyEntryLimit(config);

    const nodes: AppNode[] = [];
    for (const name of names) {
      const kind = name.startsWith('api') ? 'api' : 'worker';
      const port = await freePort();
      const env = { ...baseEnv, ...urlsThroughProxies(name), INSTANCE_ID: name, ...(kind === 'api' ? { PORT: String(port), METRICS_PORT: '0' } : { METRICS_PORT: String(port) }) };
      nodes.push(appNode(name, kind, port, env, path.join(logDir, `${name}.log`)));
    }
    stops.push(() => Promise.all(nodes.map((n) => n.shutdown())));
    const workers = nodes.filter((n) => n.kind === 'worker');
    const apis = nodes.filter((n) => n.kind === 'api');
    // Workers first: they create the topics the APIs' status consumers subscribe to.
    await Promise.all(workers.map((w) => w.start()));
    await Promise.all(apis.map((a) => a.start()));

    const nginx: RunningNginx = await startNginx(apis.map((a) => `127.0.0.1:${a.port}`));
    stops.push(() => nginx.stop());

    return { rootDir, url: nginx.url, config, apis, workers, services, toxiproxy, proxyOf, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The simulated users write more entries a day than the default `diary.maxPerDay` allows a person. */
async function raiseDailyEntryLimit(config: AppConfig): Promise<void> {
  const db = await openBenchDb(config);
  try {
    await db.query("UPDATE settings_options SET default_value = '1000000' WHERE `key` = 'diary.maxPerDay'");
  } finally {
    await db.end();
  }
}

function appNode(name: string, kind: 'api' | 'worker', port: number, env: Record<string, string>, logFile: string): AppNode {
  let proc: ManagedProcess | undefined;
  /** Set while the soak itself stops the process (a fault or the end), so that exit is no crash. */
  let stopping = false;
  let stoppedForGood = false;
  const running = () => proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
  const exited = async () => {
    if (!proc || !running()) return;
    await new Promise<void>((resolve) => proc!.child.once('exit', () => resolve()));
  };
  const node: AppNode = {
    name,
    kind,
    port,
    starts: 0,
    crashes: 0,
    running,
    async kill() {
      if (!running()) return;
      stopping = true;
      const done = exited();
      // The watchdog shell forwards TERM and INT only: SIGKILL the app itself, its only child.
      killChildOf(proc!.child.pid!);
      await done;
    },
    async terminate() {
      stopping = true;
      await proc?.stop(20_000);
    },
    async shutdown() {
      stoppedForGood = true;
      await node.terminate();
    },
    async start() {
      stopping = false;
      proc = startProcess(name, process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), kind], { cwd: ROOT, logFile, env });
      node.starts++;
      const started = proc;
      started.child.once('exit', () => {
        if (stopping || stoppedForGood || proc !== started) return;
        node.crashes++;
        setTimeout(() => {
          if (!stopping && !stoppedForGood && proc === started) node.start().catch(() => undefined);
        }, 1_000);
      });
      const health = kind === 'api' ? `http://127.0.0.1:${port}/readyz` : `http://127.0.0.1:${port}/healthz`;
      const child = proc.child;
      await waitUntil(
        `${name} ready`,
        async () => {
          if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see ${logFile}`);
          return (await fetch(health, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined))?.status === 200;
        },
        120_000,
        200,
      );
    },
  };
  return node;
}

/** SIGKILLs the Node process under the watchdog shell `pid` (its other child is the watchdog loop). */
function killChildOf(pid: number): void {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const children = read(`/proc/${pid}/task/${pid}/children`).split(/\s+/).filter(Boolean).map(Number);
  for (const child of children) if (read(`/proc/${child}/comm`) === 'node') process.kill(child, 'SIGKILL');
}
