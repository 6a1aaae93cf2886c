/**
 * Simulated users of the soak. Each has two devices on Socket.IO through nginx (one steady, one
 * flapping) that record every delivery with the time it arrived and acknowledge it, and a loop that
 * writes, edits, reanalyses and deletes entries over REST and acknowledges its inbox. Everything a
 * user caused is written down, so the ledger can follow each event from its cause to each device.
 */
import { io, type Socket } from 'socket.io-client';
import type { AnnouncementMessage, NotificationEnvelope } from '../../kernel/contracts/socket-events.js';
import { sleep } from '../bench-support.js';
import type { createDiaryTexts } from '../diary-texts.js';

export interface Delivery {
  id: string;
  seq: number;
  type: string;
  diaryId?: string;
  revision?: number;
  status?: string;
  at: number;
}

/** A delivery that arrived after one of a later sequence (after deduplication). */
export interface OutOfOrder {
  id: string;
  seq: number;
  after: number;
  at: number;
  /** The same diary's state went backwards on this device (a newer revision or status was shown first). */
  sameDiary: boolean;
}

export interface Device {
  name: string;
  flapping: boolean;
  /** First delivery of each notification id. */
  received: Map<string, Delivery>;
  /** When each duplicate delivery (an id already received) arrived. */
  duplicateTimes: number[];
  outOfOrder: OutOfOrder[];
  announcements: Map<string, number>;
  connects: number;
  connected(): boolean;
  /** Drops the connection (as a phone losing its network does); `reconnect` brings it back. */
  drop(): void;
  reconnect(): void;
  close(): void;
}

export interface DiaryWrite {
  kind: 'create' | 'update' | 'reanalyze' | 'delete';
  diaryId: string;
  /** The revision the answer gave (deletes: none). */
  revision?: number;
  at: number;
}

export interface SimUser {
  userId: string;
  token: string;
  devices: Device[];
  writes: DiaryWrite[];
  /** Requests that got no answer or a 5xx (the write may or may not have happened). */
  failures: Array<{ kind: string; status: number; at: number }>;
  /** Entries this user deleted (the delete was answered 204), with when. */
  deleted: Map<string, number>;
}

const STATUS_RANK: Record<string, number> = { PROCESSING: 1, COMPLETED: 2, FAILED: 2 };

/** Socket.IO device through nginx; the `ed_route` cookie spreads devices over the instances. */
export function connectDevice(baseUrl: string, name: string, token: string, flapping: boolean, routeKey: string): Device {
  const received = new Map<string, Delivery>();
  /** Per diary, the newest (revision, status rank) shown. */
  const diaryState = new Map<string, number>();
  let maxSeq = 0;
  let closed = false;
  const device: Device = {
    name,
    flapping,
    received,
    duplicateTimes: [],
    outOfOrder: [],
    announcements: new Map(),
    connects: 0,
    connected: () => socket.connected,
    drop: () => socket.disconnect(),
    reconnect: () => {
      if (!closed) socket.connect();
    },
    close: () => {
      closed = true;
      socket.disconnect();
    },
  };
  const socket: Socket = io(baseUrl, {
    transports: ['websocket'],
    reconnectionDelay: 200,
    reconnectionDelayMax: 2_000,
    randomizationFactor: 0.5,
    extraHeaders: { cookie: `ed_route=${routeKey}` },
    // Evaluated on every (re)connect: the highest sequence this device has seen.
    auth: (cb) => cb({ token, lastSeq: maxSeq }),
  });
  socket.on('connect', () => device.connects++);
  // A refused handshake (an instance that cannot check the token while its Redis is away) is not
  // retried by socket.io itself: a real client tries again.
  socket.on('connect_error', () => {
    if (!closed && !socket.active) setTimeout(() => device.reconnect(), 500 + Math.random() * 1_000);
  });
  const onNotification = (n: NotificationEnvelope, ack?: (r?: { ok: true }) => void) => {
    ack?.({ ok: true });
    if (received.has(n.id)) {
      device.duplicateTimes.push(Date.now());
      return;
    }
    const p = n.payload as { diaryId?: string; revision?: number; status?: string };
    const d: Delivery = { id: n.id, seq: n.seq, type: n.type, diaryId: p.diaryId, revision: p.revision, status: p.status, at: Date.now() };
    received.set(n.id, d);
    let sameDiary = false;
    if (d.diaryId !== undefined && d.revision !== undefined) {
      const rank = d.revision * 10 + (STATUS_RANK[d.status ?? ''] ?? 0);
      sameDiary = (diaryState.get(d.diaryId) ?? 0) > rank;
      if (!sameDiary) diaryState.set(d.diaryId, rank);
    }
    if (n.seq < maxSeq) device.outOfOrder.push({ id: n.id, seq: n.seq, after: maxSeq, at: d.at, sameDiary });
    maxSeq = Math.max(maxSeq, n.seq);
  };
  socket.on('analysis:status', onNotification);
  socket.on('notification', onNotification);
  socket.on('announcement', (a: AnnouncementMessage, ack?: (r?: { ok: true }) => void) => {
    ack?.({ ok: true });
    if (!device.announcements.has(a.id)) device.announcements.set(a.id, Date.now());
    socket.emit('announcements:ack', { id: a.id }, () => undefined);
  });
  // Acknowledging the inbox as a reader would, now and then.
  const acker = setInterval(() => {
    if (socket.connected && maxSeq > 0) socket.emit('notifications:ack', { upToSeq: maxSeq }, () => undefined);
  }, 3_000);
  // socket.io does not reconnect after the server closed the socket (an instance shutting down
  // gracefully does): a real client comes back, through nginx, to another instance.
  socket.on('disconnect', (reason) => {
    if (closed) clearInterval(acker);
    else if (reason === 'io server disconnect') setTimeout(() => device.reconnect(), 200 + Math.random() * 800);
  });
  return device;
}

export interface UserLoopOptions {
  baseUrl: string;
  random: () => number;
  /** Mean pause between two actions of one user. */
  meanPauseMs: number;
  until: () => boolean;
  /** Flapping devices drop their connection this often on average, and stay away up to `offlineMaxMs`. */
  flapEveryMs: number;
  offlineMaxMs: number;
}

async function request(baseUrl: string, token: string, method: string, route: string, body?: unknown): Promise<{ status: number; json?: Record<string, unknown> }> {
  try {
    const res = await fetch(`${baseUrl}/api/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(40_000),
    });
    const text = await res.text();
    return { status: res.status, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : undefined };
  } catch {
    return { status: 0 };
  }
}

/**
 * One user's behaviour until `until()`: mostly new entries, then edits, reanalyses, deletes and
 * inbox acks over REST; its flapping device drops and comes back at random.
 */
export async function runUser(user: SimUser, options: UserLoopOptions, texts: ReturnType<typeof createDiaryTexts>): Promise<void> {
  const { baseUrl, random } = options;
  const live: string[] = [];
  const flapper = user.devices.find((d) => d.flapping);
  const flapping = flapper ? flapLoop(flapper, options) : Promise.resolve();
  while (!options.until()) {
    await sleep(options.meanPauseMs * (0.5 + random()));
    if (options.until()) break;
    const roll = random();
    const target = live.length > 0 ? live[Math.floor(random() * live.length)]! : undefined;
    const at = Date.now();
    let res: { status: number; json?: Record<string, unknown> };
    let kind: DiaryWrite['kind'] | 'ack';
    if (!target || roll < 0.5) {
      kind = 'create';
      const { title, content } = texts();
      res = await request(baseUrl, user.token, 'POST', '/diaries', { title, content });
    } else if (roll < 0.7) {
      kind = 'update';
      res = await request(baseUrl, user.token, 'PATCH', `/diaries/${target}`, { content: texts().content });
    } else if (roll < 0.82) {
      kind = 'reanalyze';
      res = await request(baseUrl, user.token, 'POST', `/diaries/${target}/reanalyze`);
    } else if (roll < 0.92) {
      kind = 'delete';
      res = await request(baseUrl, user.token, 'DELETE', `/diaries/${target}`);
    } else {
      kind = 'ack';
      res = await request(baseUrl, user.token, 'POST', '/notifications/ack', { upToSeq: Number.MAX_SAFE_INTEGER });
    }
    if (res.status === 0 || res.status >= 500) {
      user.failures.push({ kind, status: res.status, at });
      continue;
    }
    if (kind === 'ack') continue;
    if (kind === 'delete') {
      if (res.status === 204) {
        user.writes.push({ kind, diaryId: target!, at });
        user.deleted.set(target!, Date.now());
        live.splice(live.indexOf(target!), 1);
      }
      continue;
    }
    if (res.status === 200 || res.status === 201 || res.status === 202) {
      const id = String(res.json?.id ?? target);
      user.writes.push({ kind, diaryId: id, revision: Number(res.json?.revision), at });
      if (kind === 'create') live.push(id);
    }
  }
  await flapping;
}

async function flapLoop(device: Device, options: UserLoopOptions): Promise<void> {
  while (!options.until()) {
    await sleep(options.flapEveryMs * (0.5 + options.random()));
    if (options.until()) break;
    device.drop();
    await sleep(options.offlineMaxMs * options.random());
    device.reconnect();
  }
}
