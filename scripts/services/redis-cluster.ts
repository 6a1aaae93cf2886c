import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitUntil } from '../../kernel/wait.js';
import { freePort, startProcess, tcpOpen, waitFor, type ManagedProcess } from './process.js';

const run = promisify(execFile);

/** One redis-server of the cluster, as `CLUSTER NODES` and the process table know it. */
export interface ClusterNode {
  port: number;
  /** host:port, as clients are given it. */
  address: string;
  role: 'primary' | 'replica';
  /** The node id (40 hex digits). */
  id: string;
  /** Its primary's id, for a replica. */
  primaryId?: string;
  /** The hash-slot ranges a primary serves, `[from, to]` inclusive. */
  slots: Array<[number, number]>;
}

export interface RedisClusterService {
  name: 'redis-cluster';
  /** Every node (host:port), the seed list for REDIS_CLUSTER_NODES. */
  nodes: string[];
  /** The cluster as it is now (dead nodes are left out). */
  topology(): Promise<ClusterNode[]>;
  /** The hash slot of a key or sharded channel (CLUSTER KEYSLOT). */
  slotOf(key: string): Promise<number>;
  /** The live primary serving a hash slot. */
  primaryOf(slot: number): Promise<ClusterNode>;
  /** SIGKILL of the node's redis-server by its pid: no shutdown, no last words to the cluster. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port with its nodes.conf; it rejoins (as a replica when it was failed over). */
  restart(port: number): Promise<void>;
  /** Until every live node says cluster_state:ok, every slot has a primary and every replica is in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Starts every node again after stop() (same ports and nodes.conf, empty data), healthy when it resolves. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Primaries; each gets `replicasPerPrimary` replicas. */
  primaries?: number;
  replicasPerPrimary?: number;
  /** cluster-node-timeout: how long a primary may be unreachable before its replica takes over. */
  nodeTimeoutMs?: number;
}

/** One INFO/CLUSTER question to one node, on a short-lived connection (the node may be dead). */
async function ask<T>(port: number, question: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000, enableOfflineQueue: false });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await question(r);
  } finally {
    r.disconnect();
  }
}

function parseNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, , flags]) => !/fail|handshake|noaddr/.test(flags ?? ''))
    .map(([id, addr, flags, primaryId, , , , , ...slots]) => {
      const address = addr!.split('@')[0]!;
      return {
        id: id!,
        address,
        port: Number(address.split(':')[1]),
        role: flags!.includes('master') ? 'primary' : 'replica',
        ...(primaryId && primaryId !== '-' ? { primaryId } : {}),
        slots: slots
          .filter((s) => !s.startsWith('['))
          .map((s) => {
            const [from, to] = s.split('-').map(Number);
            return [from!, to ?? from!] as [number, number];
          }),
      } satisfies ClusterNode;
    });
}

/**
 * A real Redis Cluster on 127.0.0.1 (3 primaries and 3 replicas by default): one redis-server per
 * node with its own directory and nodes.conf, persistence off, the cluster bus on a port of its own
 * (`cluster-port`, so a high client port does not push the bus past 65535), formed with
 * `redis-cli --cluster create --cluster-replicas`, and waited for until every node answers
 * cluster_state:ok and every replica is in sync (a replica not yet in sync could not take over).
 */
export async function startRedisCluster(rootDir: string, logDir: string, options: RedisClusterOptions = {}): Promise<RedisClusterService> {
  const primaries = options.primaries ?? 3;
  const total = primaries * (1 + (options.replicasPerPrimary ?? 1));
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2_000;
  const ports: Array<{ port: number; bus: number }> = [];
  while (ports.length < total) {
    const [port, bus] = [await freePort(), await freePort()];
    if (port !== bus && !ports.some((p) => [p.port, p.bus].includes(port) || [p.port, p.bus].includes(bus))) ports.push({ port, bus });
  }
  const procs = new Map<number, ManagedProcess>();

  const startNode = async ({ port, bus }: { port: number; bus: number }) => {
    const dir = path.join(rootDir, `node-${port}`);
    mkdirSync(dir, { recursive: true });
    // prettier-ignore
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no', '--dir', dir,
      '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'), '--cluster-port', String(bus),
      '--cluster-node-timeout', String(nodeTimeoutMs),
      // A replica takes over however long it was cut off (the test kills primaries on purpose).
      '--cluster-replica-validity-factor', '0',
    ];
    const proc = startProcess('redis-cluster', 'redis-server', args, { cwd: dir, logFile: path.join(logDir, `redis-cluster-${port}.log`) });
    procs.set(port, proc);
    await waitFor(`redis cluster node ${port}`, () => tcpOpen(port), 20_000, proc.child);
  };

  const alive = (port: number) => {
    const proc = procs.get(port);
    return proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null;
  };

  const topology = async (): Promise<ClusterNode[]> => {
    for (const { port } of ports) {
      if (!alive(port)) continue;
      const text = await ask(port, (r) => r.cluster('NODES') as Promise<string>).catch(() => undefined);
      if (text) return parseNodes(text).filter((n) => alive(n.port));
    }
    throw new Error('no live node in the Redis cluster');
  };

  const waitHealthy = async (timeoutMs = 60_000) => {
    await waitUntil(
      'redis cluster healthy',
      async () => {
        const live = ports.filter((p) => alive(p.port));
        const infos = await Promise.all(live.map((p) => ask(p.port, async (r) => [await r.cluster('INFO'), await r.info('replication')] as [string, string]).catch(() => undefined)));
        if (infos.some((i) => !i || !i[0].includes('cluster_state:ok'))) return false;
        if (infos.some((i) => i![1].includes('role:slave') && !i![1].includes('master_link_status:up'))) return false;
        const nodes = await topology();
        const covered = nodes.filter((n) => n.role === 'primary').reduce((sum, n) => sum + n.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0);
        return covered === 16_384;
      },
      timeoutMs,
      200,
    );
  };

  await Promise.all(ports.map(startNode));
  const addresses = ports.map((p) => `127.0.0.1:${p.port}`);
  try {
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(options.replicasPerPrimary ?? 1), '--cluster-yes'], { timeout: 60_000 });
    await waitHealthy();
  } catch (err) {
    await Promise.all([...procs.values()].map((p) => p.stop(5_000)));
    throw err;
  }

  const service: RedisClusterService = {
    name: 'redis-cluster',
    nodes: addresses,
    topology,
    async slotOf(key) {
      const port = ports.find((p) => alive(p.port))!.port;
      return ask(port, (r) => r.cluster('KEYSLOT', key) as Promise<number>);
    },
    async primaryOf(slot) {
      const primary = (await topology()).find((n) => n.role === 'primary' && n.slots.some(([a, b]) => slot >= a && slot <= b));
      if (!primary) throw new Error(`no live primary serves slot ${slot}`);
      return primary;
    },
    async kill(port) {
      const pid = await ask(port, async (r) => Number(/process_id:(\d+)/.exec(await r.info('server'))![1]));
      const exited = new Promise<void>((resolve) => procs.get(port)!.child.once('exit', () => resolve()));
      process.kill(pid, 'SIGKILL');
      await exited;
    },
    async restart(port) {
      await startNode(ports.find((p) => p.port === port)!);
    },
    waitHealthy,
    async start() {
      await Promise.all(ports.filter((p) => !alive(p.port)).map(startNode));
      await waitHealthy();
    },
    async stop() {
      await Promise.all([...procs.values()].map((p) => p.stop(5_000)));
    },
  };
  return service;
}
