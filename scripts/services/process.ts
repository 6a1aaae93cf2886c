import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUntil } from '../../kernel/wait.js';

/** Where scripts/provision.sh caches Kafka and FerretDB. */
export const CACHE_DIR =
  process.env.EMOTION_DIARY_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'emotion-diary');

export const KAFKA_VERSION = process.env.KAFKA_VERSION ?? '3.9.1';
export const FERRETDB_VERSION = process.env.FERRETDB_VERSION ?? 'v1.24.2';
/** The patch provision.sh applies to FerretDB's PostgreSQL backend before building it. */
export const FERRETDB_PATCH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'ferretdb', 'ferretdb-v1.24.2.patch');
/** provision.sh's build of FerretDB, named after the patch it carries (a changed patch is a new build). */
export const FERRETDB_BINARY = path.join(
  CACHE_DIR,
  `ferretdb-${FERRETDB_VERSION}-pg-${createHash('sha256').update(readFileSync(FERRETDB_PATCH)).digest('hex').slice(0, 12)}`,
  'ferretdb',
);

/**
 * Ports this process has handed out. The OS may give the same free port to two binds in a row once
 * the first is closed, and services start in parallel (a Redis Cluster node and PostgreSQL once got
 * the same port): a port is handed out at most once per process.
 */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await osFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: the OS keeps offering ports this process already handed out');
}

function osFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Waits until `check` answers true, failing early when `child` exits first. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, child?: ChildProcess): Promise<void> {
  await waitUntil(
    `${what} ready`,
    async () => {
      if (child && child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before it was ready`);
      return check().catch(() => false);
    },
    timeoutMs,
    100,
  );
}

/** Every child this process started; all are killed when it exits, however it exits. */
const children = new Set<ChildProcess>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const killAll = () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      // A program with its own handler (npm start) stops the services gracefully itself.
      if (process.listenerCount(signal) > 0) return;
      killAll();
      process.exit(130);
    });
  }
}

export interface ManagedProcess {
  child: ChildProcess;
  /** Stops with SIGTERM, escalating to SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the server itself (a crash: no shutdown at all); resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGSTOP to the server itself: it hangs, connections open and unanswered, until killed. */
  pause(): void;
}

/**
 * Starts a server as a child process with its output in a log file. A small shell watchdog kills
 * it if this Node process dies without running its exit hooks (SIGKILL, OOM), so no server is
 * ever left behind holding a port.
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv; /** What the server takes as "stop now" (PostgreSQL: INT). */ stopSignal?: 'TERM' | 'INT' },
): ManagedProcess {
  hookExit();
  const out = createWriteStream(options.logFile, { flags: 'a' });
  // bash runs the server, forwards TERM/INT to it, waits for it to really exit (so its port is
  // free when stop() resolves), and a background loop kills it if Node or bash itself dies.
  const watchdog = [
    '"$@" & child=$!',
    `(while kill -0 ${process.pid} 2>/dev/null && kill -0 $$ 2>/dev/null; do sleep 1; done; kill -9 $child 2>/dev/null) & wd=$!`,
    `trap 'kill -${options.stopSignal ?? 'TERM'} $child 2>/dev/null' TERM INT`,
    // kill(): the server's own pid is known only here, so the wrapper is asked to SIGKILL it.
    `trap 'kill -KILL $child 2>/dev/null' USR1`,
    `trap 'kill -STOP $child 2>/dev/null' USR2`,
    'code=0; while kill -0 $child 2>/dev/null; do wait $child; code=$?; done',
    'kill $wd 2>/dev/null; exit $code',
  ].join('\n');
  // Its own process group: a terminal's Ctrl-C reaches the parent, which stops servers in order.
  const child = spawn('bash', ['-c', watchdog, name, command, ...args], {
    detached: true,
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  // A server's last lines must not take the caller down (the soak died of "write after end" when
  // the log was closed on 'exit', before the pipes had drained): the log ends on 'close', once
  // stdout and stderr have ended, and a failing log write is dropped.
  out.on('error', () => undefined);
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('close', () => out.end());
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    pause: () => {
      if (!exited()) child.kill('SIGUSR2');
    },
    kill: () =>
      new Promise<void>((resolve) => {
        if (exited()) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGUSR1');
      }),
    stop: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        if (exited()) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
