/**
 * The socket.io clients of bench/realtime-fanout.ts: many idle sockets that note when each
 * `announcement` arrives (the first copy per socket; later copies count as duplicates) and ack it
 * when the server asks for an ack, as the contract wants (`setAck(false)` withholds acks). They run inside the benchmark process
 * (`localClients`) or in a forked child driven over IPC (`forkedClients`), so that one process's
 * event loop need not receive every delivery. Times are `performance.timeOrigin + now()`: the
 * machine's wall clock with sub-millisecond resolution, comparable across processes on one host.
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import type { AnnouncementMessage, DeliveryAck } from '../kernel/contracts/socket-events.js';
import { pendingRequests } from './pending-requests.js';

export const now = (): number => performance.timeOrigin + performance.now();

export interface ClientTarget {
  url: string;
  /** Access token for our API; the baseline server takes none. */
  token?: string;
}

export interface ConnectResult {
  connected: number;
  failed: number;
  /** The first few connect errors. */
  errors: string[];
  ms: number;
}

export interface ClientReport {
  /** Arrival times of each announcement id, one per socket that got it. */
  receipts: Record<string, number[]>;
  /** Copies after the first, per id. */
  duplicates: Record<string, number>;
  /** Disconnects the benchmark did not ask for, by reason. */
  disconnects: Record<string, number>;
  open: number;
}

export interface ClientGroup {
  readonly pid: number;
  connect(targets: ClientTarget[], concurrency: number, timeoutMs: number): Promise<ConnectResult>;
  /** How many sockets have received each id so far. */
  counts(ids: string[]): Promise<number[]>;
  /** Whether announcements are acked (the contract says they are; off isolates delivery). */
  setAck(on: boolean): Promise<void>;
  report(): Promise<ClientReport>;
  close(): Promise<void>;
}

export function localClients(): ClientGroup {
  const sockets: Socket[] = [];
  const receipts = new Map<string, number[]>();
  const disconnects: Record<string, number> = {};
  const duplicates: Record<string, number> = {};
  let acking = true;
  let closing = false;

  const open = (target: ClientTarget, timeoutMs: number) =>
    new Promise<string | undefined>((resolve) => {
      const socket = io(target.url, {
        transports: ['websocket'],
        auth: target.token ? { token: target.token } : {},
        reconnection: false,
        forceNew: true,
        timeout: timeoutMs,
      });
      const seen = new Set<string>();
      socket.on('announcement', (message: AnnouncementMessage, ack?: (r?: DeliveryAck) => void) => {
        const at = now();
        if (seen.has(message.id)) duplicates[message.id] = (duplicates[message.id] ?? 0) + 1;
        else {
          seen.add(message.id);
          let list = receipts.get(message.id);
          if (!list) receipts.set(message.id, (list = []));
          list.push(at);
        }
        if (acking && typeof ack === 'function') ack({ ok: true });
      });
      socket.once('connect', () => {
        sockets.push(socket);
        socket.on('disconnect', (reason) => {
          if (!closing) disconnects[reason] = (disconnects[reason] ?? 0) + 1;
        });
        resolve(undefined);
      });
      socket.once('connect_error', (err: Error & { data?: unknown }) => {
        socket.close();
        resolve(`${target.url}: ${err.message}${err.data ? ` ${JSON.stringify(err.data)}` : ''}`);
      });
    });

  return {
    pid: process.pid,
    async connect(targets, concurrency, timeoutMs) {
      const started = now();
      const errors: string[] = [];
      let next = 0;
      let connected = 0;
      const worker = async () => {
        while (next < targets.length) {
          const error = await open(targets[next++]!, timeoutMs);
          if (error === undefined) connected++;
          else errors.push(error);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, targets.length)) }, worker));
      return { connected, failed: errors.length, errors: errors.slice(0, 5), ms: now() - started };
    },
    counts: async (ids) => ids.map((id) => receipts.get(id)?.length ?? 0),
    setAck: async (on) => {
      acking = on;
    },
    report: async () => ({ receipts: Object.fromEntries(receipts), duplicates: { ...duplicates }, disconnects: { ...disconnects }, open: sockets.filter((s) => s.connected).length }),
    async close() {
      closing = true;
      for (const socket of sockets.splice(0)) socket.disconnect();
    },
  };
}

const CHILD_FLAG = '--realtime-clients-child';

type Request =
  | { seq: number; op: 'connect'; args: [ClientTarget[], number, number] }
  | { seq: number; op: 'counts'; args: [string[]] }
  | { seq: number; op: 'setAck'; args: [boolean] }
  | { seq: number; op: 'report' | 'close'; args: [] };
type Reply = { seq: number; result?: unknown; error?: string };

/** A client group in a child process of its own (`node --import tsx bench/realtime-clients.ts`). */
export function forkedClients(rootDir: string): ClientGroup {
  const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], { cwd: rootDir, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const requests = pendingRequests();
  let exited = false;
  child.on('message', (reply: Reply) => {
    if (reply.error !== undefined) requests.fail(reply.seq, new Error(`client process ${child.pid}: ${reply.error}`));
    else requests.answer(reply.seq, reply.result);
  });
  child.once('exit', (code, signal) => {
    exited = true;
    requests.failAll(new Error(`client process ${child.pid} exited (${code ?? signal})`));
  });
  const call = <T>(op: Request['op'], args: unknown[], timeoutMs = 60_000): Promise<T> =>
    exited
      ? Promise.reject(new Error(`client process ${child.pid} is gone`))
      : requests.request<T>(`client process ${child.pid}: ${op}`, timeoutMs, (id) => child.send({ seq: id, op, args }));

  return {
    pid: child.pid ?? -1,
    connect: (targets, concurrency, timeoutMs) => call('connect', [targets, concurrency, timeoutMs], timeoutMs * (targets.length / Math.max(1, concurrency) + 2)),
    counts: (ids) => call('counts', [ids]),
    setAck: (on) => call('setAck', [on]),
    report: () => call('report', []),
    async close() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await call('close', []).catch(() => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

function serveParent(): void {
  const clients = localClients();
  const send = (reply: Reply) => process.send?.(reply);
  // The parent died or closed the channel: nothing more to measure for.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (request: Request) => {
    const run = async (): Promise<unknown> => {
      switch (request.op) {
        case 'connect':
          return clients.connect(...request.args);
        case 'counts':
          return clients.counts(...request.args);
        case 'setAck':
          return clients.setAck(...request.args);
        case 'report':
          return clients.report();
        case 'close':
          await clients.close();
          setTimeout(() => process.exit(0), 100);
          return undefined;
      }
    };
    run().then(
      (result) => send({ seq: request.seq, result }),
      (err: unknown) => send({ seq: request.seq, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

if (process.argv.includes(CHILD_FLAG) && process.send) serveParent();
