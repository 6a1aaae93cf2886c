import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { CACHE_DIR, KAFKA_VERSION, startProcess, waitFor, type ManagedProcess } from './process.js';

const run = promisify(execFile);

/**
 * One KRaft node (broker and controller in one JVM), run from the jars provision.sh cached: what
 * the single-node Kafka of the tests and the three-node cluster of the replication tests share.
 */
export interface KraftNodeSpec {
  nodeId: number;
  /** `id@127.0.0.1:port` of every controller of the quorum, this node's included. */
  voters: string[];
  /** Listener name to port; `PLAINTEXT` is the clients' and the brokers' listener, `CONTROLLER` the quorum's. */
  listeners: Array<{ name: string; port: number; advertisedPort?: number }>;
  /** Replicas of new topics and of the offsets and transaction logs, and their min.insync.replicas. */
  replication: { factor: number; minInSync: number };
  /** Further broker settings (`key=value`). */
  extra?: string[];
}

export function kafkaClasspath(): string {
  const libs = path.join(CACHE_DIR, `kafka-${KAFKA_VERSION}`, 'libs');
  if (!existsSync(libs)) throw new Error(`Kafka jars missing in ${libs}: run scripts/provision.sh`);
  return `${libs}/*`;
}

/** Whether the node's storage was formatted already (its settings are then left as they are). */
export function kraftFormatted(dataDir: string): boolean {
  return existsSync(path.join(dataDir, 'kraft-logs', 'meta.properties'));
}

/** Writes the node's server.properties and formats its storage for `clusterId`. */
export async function formatKraftNode(dataDir: string, spec: KraftNodeSpec, clusterId: string): Promise<void> {
  const logDirs = path.join(dataDir, 'kraft-logs');
  mkdirSync(logDirs, { recursive: true });
  const { factor, minInSync } = spec.replication;
  const advertised = spec.listeners.filter((l) => l.name !== 'CONTROLLER').map((l) => `${l.name}://127.0.0.1:${l.advertisedPort ?? l.port}`);
  writeFileSync(
    propertiesFile(dataDir),
    [
      'process.roles=broker,controller',
      `node.id=${spec.nodeId}`,
      `controller.quorum.voters=${spec.voters.join(',')}`,
      `listeners=${spec.listeners.map((l) => `${l.name}://127.0.0.1:${l.port}`).join(',')}`,
      `advertised.listeners=${advertised.join(',')}`,
      'controller.listener.names=CONTROLLER',
      `listener.security.protocol.map=${spec.listeners.map((l) => `${l.name}:PLAINTEXT`).join(',')}`,
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${logDirs}`,
      'num.partitions=3',
      `default.replication.factor=${factor}`,
      `min.insync.replicas=${minInSync}`,
      `offsets.topic.replication.factor=${factor}`,
      'offsets.topic.num.partitions=10',
      `transaction.state.log.replication.factor=${factor}`,
      `transaction.state.log.min.isr=${minInSync}`,
      'transaction.state.log.num.partitions=4',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      'delete.topic.enable=true',
      ...(spec.extra ?? []),
      '',
    ].join('\n'),
  );
  await run('java', ['-cp', kafkaClasspath(), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesFile(dataDir), '--ignore-formatted']);
}

function propertiesFile(dataDir: string): string {
  return path.join(dataDir, 'server.properties');
}

/** Starts a formatted node's JVM (SerialGC, `heapMb` of heap: the machines have few cores). */
export function startKraftNode(name: string, dataDir: string, logFile: string, heapMb: number): ManagedProcess {
  // KAFKA_EXTRA_JVM_OPTS: extra JVM flags for profiling a bench (for example a JFR recording).
  const extra = (process.env.KAFKA_EXTRA_JVM_OPTS ?? '').split(' ').filter(Boolean);
  const heap = [`-Xms${Math.min(256, heapMb)}m`, `-Xmx${heapMb}m`];
  return startProcess(name, 'java', [...heap, '-XX:+UseSerialGC', ...extra, '-cp', kafkaClasspath(), 'kafka.Kafka', propertiesFile(dataDir)], { cwd: dataDir, logFile });
}

/**
 * Waits until `brokers` answer metadata requests, not merely that a port is open, and `ready`
 * holds for the cluster they describe (a cluster: every broker registered).
 */
export async function waitForBrokers(
  what: string,
  brokers: string[],
  timeoutMs: number,
  child?: ManagedProcess['child'],
  ready: (cluster: { brokers: Array<{ nodeId: number }> }) => boolean = () => true,
): Promise<void> {
  const probe = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1_000 }).admin();
  await waitFor(
    what,
    async () => {
      await probe.connect();
      return ready(await probe.describeCluster());
    },
    timeoutMs,
    child,
  ).finally(() => probe.disconnect());
}
