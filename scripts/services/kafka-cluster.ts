import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { formatKraftNode, startKraftNode, waitForBrokers } from './kafka-node.js';
import { freePort, type ManagedProcess } from './process.js';

export interface KafkaClusterNode {
  nodeId: number;
  /** The clients' port (`127.0.0.1:<port>`). */
  port: number;
  running: boolean;
}

/** Several KRaft nodes on 127.0.0.1, each broker and controller of one quorum. */
export interface KafkaCluster {
  /** Every node's address: clients bootstrap from any that answers. */
  brokers: string[];
  nodes: KafkaClusterNode[];
  /** SIGKILL to one node's JVM (a crash: nothing flushed, no controlled shutdown); resolves once it is gone. */
  kill(nodeId: number): Promise<void>;
  /** SIGSTOP to one node's JVM: requests to it hang (a broker wedged mid-request) until it is killed. */
  pause(nodeId: number): void;
  /** Starts a stopped or killed node again on its ports and data; resolves once the cluster has every broker again. */
  restart(nodeId: number): Promise<void>;
  stop(): Promise<void>;
}

export interface KafkaClusterOptions {
  /** Nodes (default 3). */
  size?: number;
  /** Replicas of new topics and of the offsets and transaction logs (default 3), and their min.insync.replicas (default 2). */
  replication?: { factor: number; minInSync: number };
  /** Heap of each JVM (default 384 MB: three of them share a small machine). */
  heapMb?: number;
  /**
   * How long the controller waits for a silent broker's heartbeat before it fences it and moves
   * its leaderships (default 4 s; Kafka's own is 9 s). Most of a crash's unavailability is this.
   */
  brokerSessionTimeoutMs?: number;
}

/**
 * Starts a Kafka cluster in KRaft mode from the jars provision.sh cached: `size` nodes that are
 * each broker and controller (the quorum's voters are all of them), on free ports, data under
 * `rootDir/node-<id>`, logs in `logDir/kafka-node-<id>.log`. Ready once every broker is registered.
 */
export async function startKafkaCluster(rootDir: string, logDir: string, options: KafkaClusterOptions = {}): Promise<KafkaCluster> {
  const size = options.size ?? 3;
  const replication = options.replication ?? { factor: 3, minInSync: 2 };
  const heapMb = options.heapMb ?? 384;
  const sessionTimeoutMs = options.brokerSessionTimeoutMs ?? 4_000;
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const ports = await Promise.all(ids.map(async (nodeId) => ({ nodeId, port: await freePort(), controllerPort: await freePort() })));
  const voters = ports.map((p) => `${p.nodeId}@127.0.0.1:${p.controllerPort}`);
  const clusterId = randomUUID();
  const dataDir = (nodeId: number) => path.join(rootDir, `node-${nodeId}`);
  await Promise.all(
    ports.map(({ nodeId, port, controllerPort }) => {
      mkdirSync(dataDir(nodeId), { recursive: true });
      return formatKraftNode(
        dataDir(nodeId),
        {
          nodeId,
          voters,
          listeners: [{ name: 'PLAINTEXT', port }, { name: 'CONTROLLER', port: controllerPort }],
          replication,
          extra: [
            `broker.heartbeat.interval.ms=${Math.max(250, Math.floor(sessionTimeoutMs / 8))}`,
            `broker.session.timeout.ms=${sessionTimeoutMs}`,
            // A clean restart moves leaderships back to their preferred replicas soon, not after 5 min.
            'leader.imbalance.check.interval.seconds=10',
          ],
        },
        clusterId,
      );
    }),
  );

  const nodes: KafkaClusterNode[] = ports.map(({ nodeId, port }) => ({ nodeId, port, running: false }));
  const brokers = nodes.map((n) => `127.0.0.1:${n.port}`);
  const procs = new Map<number, ManagedProcess>();
  const node = (nodeId: number) => {
    const found = nodes.find((n) => n.nodeId === nodeId);
    if (!found) throw new Error(`no Kafka node ${nodeId} (nodes: ${ids.join(', ')})`);
    return found;
  };
  const allRegistered = (cluster: { brokers: Array<{ nodeId: number }> }) => cluster.brokers.length === size;
  const launch = (n: KafkaClusterNode) => {
    const proc = startKraftNode(`kafka-node-${n.nodeId}`, dataDir(n.nodeId), path.join(logDir, `kafka-node-${n.nodeId}.log`), heapMb);
    procs.set(n.nodeId, proc);
    n.running = true;
    proc.child.once('exit', () => (n.running = false));
    return proc;
  };

  const stop = async () => {
    await Promise.all([...procs.values()].map((p) => p.stop(30_000)));
  };
  try {
    const started = nodes.map(launch);
    // Each node answers only once the quorum has a leader, so the first wait covers the slowest JVM.
    await Promise.all(nodes.map((n, i) => waitForBrokers(`kafka node ${n.nodeId}`, [brokers[i]!], 180_000, started[i]!.child, allRegistered)));
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    brokers,
    nodes,
    async kill(nodeId) {
      await procs.get(node(nodeId).nodeId)?.kill();
    },
    pause(nodeId) {
      procs.get(node(nodeId).nodeId)?.pause();
    },
    async restart(nodeId) {
      const n = node(nodeId);
      if (n.running) throw new Error(`Kafka node ${nodeId} is running`);
      const proc = launch(n);
      await waitForBrokers(`kafka node ${nodeId}`, [`127.0.0.1:${n.port}`], 120_000, proc.child, allRegistered);
    },
    stop,
  };
}
