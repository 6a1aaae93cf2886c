import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { KNOWN_CLIENT_EVENTS } from '../../kernel/contracts/socket-events.js';
import { seededRandom } from '../seeded-random.js';

/**
 * Socket fuzzing: abusive clients speak raw engine.io / Socket.IO over `ws` (random bytes and text,
 * malformed and truncated packets, binary attachments that never come, huge and deeply nested
 * payloads, every known event with wrong types, prototype-pollution keys, namespaces not joined,
 * floods), while a well-behaved device of another user measures its round trip (an acked
 * `notifications:ack`) before and during the abuse. Seeded: the same seed sends the same frames.
 */


type Frame = string | Buffer;

const WRONG_VALUES: unknown[] = [
  null,
  0,
  -1,
  1e308,
  'x',
  '',
  true,
  [],
  [null],
  {},
  { ids: 5 },
  { ids: ['not-an-id'] },
  { ids: Array.from({ length: 600 }, () => 'a'.repeat(24)) },
  { upToSeq: -1 },
  { upToSeq: '1' },
  { upToSeq: 1.5 },
  { upToSeq: Number.MAX_SAFE_INTEGER * 4 },
  { ids: [], upToSeq: 0, extra: 1 },
  { token: 5 },
  { token: 'a.b.c' },
  { token: 'x'.repeat(5000) },
  { id: { $gt: '' } },
  { announcementId: { $ne: null } },
];

export const ABUSE_KINDS = ['bytes', 'text', 'truncated', 'engine', 'wrong-type', 'pollution', 'deep', 'huge', 'attachment', 'namespace', 'ack-id', 'flood'] as const;
export type AbuseKind = (typeof ABUSE_KINDS)[number];

/** A frame of one abuse category (of `limits.kinds`, default all); the huge ones exceed the server's cap. */
export function abusiveFrame(random: () => number, limits: { maxPayloadBytes: number; kinds?: readonly AbuseKind[] }): { kind: string; frame: Frame } {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const events = [...KNOWN_CLIENT_EVENTS, 'unknown:event', '', 'constructor', '__proto__', 'toString', 'x'.repeat(300)];
  const kind = pick(limits.kinds ?? ABUSE_KINDS);
  switch (kind) {
    case 'bytes':
      return { kind, frame: Buffer.from(Array.from({ length: 1 + Math.floor(random() * 512) }, () => Math.floor(random() * 256))) };
    case 'text':
      return { kind, frame: Array.from({ length: 1 + Math.floor(random() * 256) }, () => String.fromCharCode(Math.floor(random() * 0xd7ff))).join('') };
    case 'truncated':
      return { kind, frame: pick(['4', '42', '42[', '42["notifications:ack"', '42{}', '42[]', '42[1]', '42null', '43', '44', '45', '46', '49', '4-', '42[,]', '42["a",]']) };
    case 'engine':
      return { kind, frame: pick(['0', '1', '2', '3', '5', '6', '7', '9', '', 'b' + 'A'.repeat(20), '2probe', '0{"sid":"x"}']) };
    case 'wrong-type':
      return { kind, frame: `42${JSON.stringify([pick(events), pick(WRONG_VALUES)])}` };
    case 'pollution':
      return { kind, frame: `42["${pick([...KNOWN_CLIENT_EVENTS])}",{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}]` };
    case 'deep': {
      const depth = 1_000 + Math.floor(random() * 20_000);
      return { kind, frame: `42["notifications:ack",${'['.repeat(depth)}${']'.repeat(depth)}]` };
    }
    case 'huge':
      return { kind, frame: `42["notifications:ack",{"ids":["${'a'.repeat(limits.maxPayloadBytes + 1024)}"]}]` };
    case 'attachment':
      // A binary event announcing attachments that never come (or too many).
      return { kind, frame: pick([`451-["notifications:ack",{"_placeholder":true,"num":0}]`, `45999-["notifications:ack",{"_placeholder":true,"num":7}]`, `461-0[{"_placeholder":true,"num":3}]`]) };
    case 'namespace':
      return { kind, frame: pick(['40/admin,', '40/admin,{"token":"x"}', '42/admin,["activity:snapshot"]', '40/nope,', '41/admin,', '42/nope,["x"]', '40/' + 'a'.repeat(2000) + ',']) };
    case 'ack-id':
      return { kind, frame: pick([`421${'9'.repeat(40)}["notifications:ack",{"upToSeq":0}]`, '42-1["notifications:ack",{}]', '43999[{"ok":true}]', `431["x"]`]) };
    default:
      return { kind: 'flood', frame: `42${JSON.stringify(['notifications:ack', { upToSeq: 0 }])}` };
  }
}

export interface AbuserOutcome {
  /** The server closed the connection (dropped the abuser) before the abuser stopped. */
  dropped: boolean;
  framesSent: number;
  kinds: Record<string, number>;
}

/**
 * One abusive connection: engine.io handshake, a Socket.IO CONNECT with `token` (valid, forged or
 * none), then `frames` frames as fast as the socket drains, until the server closes it or `untilMs`.
 */
export async function runAbuser(
  baseUrl: string,
  token: string | undefined,
  random: () => number,
  options: { frames: number; untilMs: number; maxPayloadBytes: number; kinds?: readonly AbuseKind[]; sourceAddress?: string },
): Promise<AbuserOutcome> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const outcome: AbuserOutcome = { dropped: false, framesSent: 0, kinds: {} };
  const ws = new WebSocket(url, { maxPayload: 1 << 20, ...(options.sourceAddress ? { localAddress: options.sourceAddress } : {}) });
  const closed = new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.once('error', () => resolve());
  });
  let stopping = false;
  ws.once('close', () => {
    if (!stopping) outcome.dropped = true;
  });
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('error', () => resolve());
  });
  if (ws.readyState !== WebSocket.OPEN) return { ...outcome, dropped: true };
  ws.on('message', (data) => {
    // Answer engine.io pings so the drop is the server's verdict on the frames, not a timeout.
    if (data.toString() === '2') ws.send('3');
  });
  ws.send(token === undefined ? '40' : `40${JSON.stringify({ token })}`);
  for (let i = 0; i < options.frames && Date.now() < options.untilMs && ws.readyState === WebSocket.OPEN; i++) {
    const { kind, frame } = abusiveFrame(random, options);
    outcome.kinds[kind] = (outcome.kinds[kind] ?? 0) + 1;
    ws.send(frame);
    outcome.framesSent++;
    // Let the socket drain and the server answer now and then, as a real client would.
    if (ws.bufferedAmount > 1 << 20 || i % 20 === 19) await new Promise((r) => setTimeout(r, 1));
  }
  const grace = Math.max(0, Math.min(2_000, options.untilMs - Date.now()));
  await Promise.race([closed, new Promise((r) => setTimeout(r, grace))]);
  stopping = true;
  ws.terminate();
  await closed;
  return outcome;
}

export interface ProbeStats {
  probes: number;
  answered: number;
  p50: number;
  p99: number;
  max: number;
}

/** A well-behaved device: an acked `notifications:ack` every `intervalMs`, timed until `untilMs`. */
export async function probeRoundTrips(socket: Socket, options: { untilMs: number; intervalMs: number; timeoutMs: number }): Promise<ProbeStats> {
  const times: number[] = [];
  let probes = 0;
  while (Date.now() < options.untilMs) {
    probes++;
    const started = performance.now();
    const answered = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), options.timeoutMs);
      socket.emit('notifications:ack', { ids: [] }, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (answered) times.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, options.intervalMs));
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => (times.length === 0 ? Number.NaN : times[Math.min(times.length - 1, Math.floor(q * times.length))]!);
  return { probes, answered: times.length, p50: at(0.5), p99: at(0.99), max: times.at(-1) ?? Number.NaN };
}

/** Connects the well-behaved device (websocket, token in the handshake, no reconnection). */
export async function connectProbe(baseUrl: string, token: string): Promise<Socket> {
  const socket = io(baseUrl, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

export interface SocketFuzzResult {
  seed: number;
  abusers: number;
  framesSent: number;
  kinds: Record<string, number>;
  /** Abusers whose connection the server closed. */
  dropped: number;
  quiet: ProbeStats;
  underFuzz: ProbeStats;
  /** underFuzz p99 / quiet p99. */
  p99Ratio: number;
  /** The victim's socket was still connected at the end. */
  victimConnected: boolean;
}

/**
 * The whole run: the victim's quiet round trips for `quietMs`, then `abusers` abusive connections
 * (a third with the victim's other user's valid token, a third forged, a third none) for `fuzzMs`
 * while the victim keeps probing.
 */
export async function runSocketFuzz(options: {
  baseUrl: string;
  victimToken: string;
  abuserTokens: string[];
  abusers: number;
  framesPerAbuser: number;
  quietMs: number;
  fuzzMs: number;
  seed: number;
  maxPayloadBytes: number;
  /** The victim's probe interval: inside the server's per-socket event budget (default 60 per 10 s). */
  probeIntervalMs?: number;
  /** Only these kinds of abuse (default all). */
  kinds?: readonly AbuseKind[];
  /**
   * The loopback address the abusers connect from (default 127.0.0.2): another client address
   * than the victim's 127.0.0.1, as an attacker's would be, so the per-address handshake budget
   * applies to them and not to the victim.
   */
  sourceAddress?: string;
}): Promise<SocketFuzzResult> {
  const victim = await connectProbe(options.baseUrl, options.victimToken);
  try {
    const quiet = await probeRoundTrips(victim, { untilMs: Date.now() + options.quietMs, intervalMs: options.probeIntervalMs ?? 200, timeoutMs: 5_000 });
    const untilMs = Date.now() + options.fuzzMs;
    // The abusers run in a process of their own: generating and sending their frames keeps an event
    // loop busy, and the victim's timings must not wait for it.
    const abusing = runAbusersInChild({ ...options, sourceAddress: options.sourceAddress ?? '127.0.0.2', untilMs });
    const [underFuzz, outcomes] = await Promise.all([probeRoundTrips(victim, { untilMs, intervalMs: options.probeIntervalMs ?? 200, timeoutMs: 5_000 }), abusing]);
    const kinds: Record<string, number> = {};
    for (const o of outcomes) for (const [k, n] of Object.entries(o.kinds)) kinds[k] = (kinds[k] ?? 0) + n;
    return {
      seed: options.seed,
      abusers: outcomes.length,
      framesSent: outcomes.reduce((n, o) => n + o.framesSent, 0),
      kinds,
      dropped: outcomes.filter((o) => o.dropped).length,
      quiet,
      underFuzz,
      p99Ratio: underFuzz.p99 / quiet.p99,
      victimConnected: victim.connected,
    };
  } finally {
    victim.disconnect();
  }
}

export interface AbuserWaves {
  baseUrl: string;
  abuserTokens: string[];
  abusers: number;
  framesPerAbuser: number;
  untilMs: number;
  seed: number;
  maxPayloadBytes: number;
  kinds?: readonly AbuseKind[];
  sourceAddress?: string;
}

/** Waves of `abusers` connections at a time until `untilMs`, each with its own seeded stream. */
export async function runAbuserWaves(options: AbuserWaves): Promise<AbuserOutcome[]> {
  const random = seededRandom(options.seed);
  const tokens = (i: number) => (i % 3 === 0 ? options.abuserTokens[i % options.abuserTokens.length] : i % 3 === 1 ? 'eyJhbGciOiJIUzI1NiJ9.e30.forged' : undefined);
  const results: AbuserOutcome[] = [];
  let i = 0;
  while (Date.now() < options.untilMs) {
    const wave = Array.from({ length: options.abusers }, () => {
      const own = seededRandom(Math.floor(random() * 2 ** 32));
      return runAbuser(options.baseUrl, tokens(i++), own, {
        frames: options.framesPerAbuser,
        untilMs: options.untilMs,
        maxPayloadBytes: options.maxPayloadBytes,
        kinds: options.kinds,
        sourceAddress: options.sourceAddress,
      });
    });
    results.push(...(await Promise.all(wave)));
  }
  return results;
}

const ABUSERS_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'socket-abusers.ts');

function runAbusersInChild(options: AbuserWaves): Promise<AbuserOutcome[]> {
  return new Promise((resolve, reject) => {
    const child = fork(ABUSERS_ENTRY, [JSON.stringify(options)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let outcomes: AbuserOutcome[] | undefined;
    child.once('message', (message) => (outcomes = message as AbuserOutcome[]));
    child.once('error', reject);
    child.once('exit', (code) => (outcomes ? resolve(outcomes) : reject(new Error(`the abuser process exited with ${code} before reporting`))));
  });
}
