import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { CACHE_DIR, KAFKA_VERSION, freePort, startProcess, waitFor } from './process.js';
import type { RestartableService } from './redis.js';

const run = promisify(execFile);

/**
 * A listener clients reach through a proxy: the broker listens on `port` and tells clients to
 * connect to `advertisedPort` (the proxy's), so every connection after the bootstrap one goes
 * through the proxy too.
 */
export interface ProxiedListener {
  port: number;
  advertisedPort: number;
}

/**
 * A single-node Kafka in KRaft mode (broker + controller), run from the jars provision.sh cached.
 * `proxiedListeners` (the chaos soak: one per client process) are only applied when the data dir
 * is new.
 */
export async function startKafka(
  dataDir: string,
  port: number,
  logDir: string,
  options: { proxiedListeners?: ProxiedListener[] } = {},
): Promise<RestartableService & { brokers: string[] }> {
  const libs = path.join(CACHE_DIR, `kafka-${KAFKA_VERSION}`, 'libs');
  if (!existsSync(libs)) throw new Error(`Kafka jars missing in ${libs}: run scripts/provision.sh`);
  const classpath = `${libs}/*`;
  const logDirs = path.join(dataDir, 'kraft-logs');
  const propsFile = path.join(dataDir, 'server.properties');
  if (!existsSync(path.join(logDirs, 'meta.properties'))) {
    mkdirSync(logDirs, { recursive: true });
    const controllerPort = await freePort();
    const proxied = (options.proxiedListeners ?? []).map((l, i) => ({ ...l, name: `PROXIED${i + 1}` }));
    const listeners = [`PLAINTEXT://127.0.0.1:${port}`, `CONTROLLER://127.0.0.1:${controllerPort}`, ...proxied.map((l) => `${l.name}://127.0.0.1:${l.port}`)];
    const advertised = [`PLAINTEXT://127.0.0.1:${port}`, ...proxied.map((l) => `${l.name}://127.0.0.1:${l.advertisedPort}`)];
    const protocols = ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT', ...proxied.map((l) => `${l.name}:PLAINTEXT`)];
    writeFileSync(
      propsFile,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=${listeners.join(',')}`,
        `advertised.listeners=${advertised.join(',')}`,
        'controller.listener.names=CONTROLLER',
        `listener.security.protocol.map=${protocols.join(',')}`,
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${logDirs}`,
        'num.partitions=3',
        'default.replication.factor=1',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=10',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.num.partitions=4',
        'group.initial.rebalance.delay.ms=0',
        'auto.create.topics.enable=false',
        'delete.topic.enable=true',
        '',
      ].join('\n'),
    );
    await run('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', randomUUID(), '-c', propsFile, '--ignore-formatted']);
  }

  let stopCurrent: () => Promise<void> = async () => undefined;
  const brokers = [`127.0.0.1:${port}`];
  const start = async () => {
    // KAFKA_EXTRA_JVM_OPTS: extra JVM flags for profiling a bench (for example a JFR recording).
    const extra = (process.env.KAFKA_EXTRA_JVM_OPTS ?? '').split(' ').filter(Boolean);
    const proc = startProcess('kafka', 'java', ['-Xms256m', '-Xmx768m', '-XX:+UseSerialGC', ...extra, '-cp', classpath, 'kafka.Kafka', propsFile], {
      cwd: dataDir,
      logFile: path.join(logDir, 'kafka.log'),
    });
    stopCurrent = () => proc.stop(30_000);
    // Ready means the broker answers metadata requests, not merely that its port is open.
    const probe = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1_000 }).admin();
    await waitFor(
      'kafka',
      async () => {
        await probe.connect();
        await probe.describeCluster();
        return true;
      },
      90_000,
      proc.child,
    ).finally(() => probe.disconnect());
  };
  await start();
  return { name: 'kafka', port, url: brokers.join(','), brokers, start, stop: () => stopCurrent() };
}
