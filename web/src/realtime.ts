import { io, type Socket } from 'socket.io-client';
import type {
  AdminClientToServerEvents,
  AdminServerToClientEvents,
  AnalysisStatusEnvelope,
  AnnouncementMessage,
  ClientToServerEvents,
  NotificationEnvelope,
  ServerNotice,
  ServerToClientEvents,
} from '../../kernel/contracts/socket-events';
import type { ThoughtRecordChanged } from '../../kernel/contracts/thought-records';
import { inbox as inboxApi } from './api/endpoints';
import { endSession, refreshSession, session } from './api/session';
import { createStore } from './store';

/**
 * The page's live connection (Socket.IO namespace `/`), typed by the server's own contract.
 *
 * - `connection` says what is true: `connecting` before the first connect, `catchingUp` from a
 *   (re)connect until the inbox written while away is applied, `live` after that, `reconnecting`
 *   while the link is down, `offline` when the browser says so.
 * - Every delivery is acknowledged (the server redelivers until it is), deduplicated by its id and
 *   applied in `seq` order; the highest `seq` applied is kept per tab and sent in the handshake,
 *   so a reconnect (to another instance, after a reload) replays only what is missing.
 * - The handshake reads the token at every attempt, and `auth:refresh` hands a refreshed token to
 *   a connected socket, so a silent refresh never drops the connection.
 */
export type ConnectionState = 'connecting' | 'catchingUp' | 'live' | 'reconnecting' | 'offline';
export const connection = createStore<ConnectionState>('connecting');

/** The latest status seen live for each entry (the pages merge it over what REST answered). */
export interface LiveStatus {
  revision: number;
  status: AnalysisStatusEnvelope['payload']['status'];
  summary?: AnalysisStatusEnvelope['payload']['summary'];
  seq: number;
}
export const liveStatuses = createStore<ReadonlyMap<string, LiveStatus>>(new Map());
/** Notifications applied live, newest last (the inbox screen merges them over its pages). */
export const liveNotifications = createStore<readonly NotificationEnvelope[]>([]);
/** Announcements waiting for the user's "got it", oldest first. */
export const pendingAnnouncements = createStore<ReadonlyArray<AnnouncementMessage & { ack?: () => void }>>([]);
export const lastNotice = createStore<ServerNotice | null>(null);
/** The last `thought-record:changed` (a record saved or deleted on any device of this user). */
export const thoughtRecordChanges = createStore<ThoughtRecordChanged | null>(null);

type UserSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
let socket: UserSocket | null = null;
let userId: string | null = null;
const seen = new Set<string>();

/**
 * The highest `seq` this tab has applied. Per tab (sessionStorage, which a reload keeps): every
 * tab is a device with its own socket, and a tab that took another tab's mark would skip what it
 * never saw (the browser test caught exactly that with two tabs and a killed instance). A tab
 * without one yet starts from the inbox's head when it first connects.
 */
const seqKey = () => `ed.lastSeq.${userId}`;
function lastSeq(): number | undefined {
  const raw = sessionStorage.getItem(seqKey());
  return raw === null ? undefined : Number(raw) || 0;
}
function advance(seq: number): void {
  if (seq > (lastSeq() ?? -1)) sessionStorage.setItem(seqKey(), String(seq));
}

/** Applies one notification once, whichever path brought it (socket delivery, replay, REST catch-up). */
function apply(n: NotificationEnvelope): void {
  if (seen.has(n.id)) return;
  seen.add(n.id);
  advance(n.seq);
  liveNotifications.set((list) => [...list.slice(-199), n]);
  if (n.type === 'analysis.status') {
    const p = n.payload as AnalysisStatusEnvelope['payload'];
    liveStatuses.set((map) => {
      const known = map.get(p.diaryId);
      // Out of order across paths: keep the later revision, and the later event of a revision.
      if (known && (known.revision > p.revision || (known.revision === p.revision && known.seq > n.seq))) return map;
      const next = new Map(map);
      next.set(p.diaryId, { revision: p.revision, status: p.status, summary: p.summary, seq: n.seq });
      return next;
    });
  }
}

/** What was written while this page was away, from the durable inbox, oldest first. */
async function catchUp(): Promise<void> {
  connection.set('catchingUp');
  try {
    if (lastSeq() === undefined) {
      // A new tab: what is already in the inbox the screens load themselves.
      const { items } = await inboxApi.list({ limit: 1 });
      advance(items[0]?.seq ?? 0);
    }
    for (let page = 0; page < 20; page++) {
      const { items } = await inboxApi.list({ afterSeq: lastSeq() ?? 0, limit: 200 });
      for (const item of items) apply({ id: item.id, seq: item.seq, type: item.type, payload: item.payload, createdAt: item.createdAt });
      if (items.length < 200) break;
    }
  } catch {
    // The socket's own replay still delivers; the state must not stay "catching up" for ever.
  }
  if (socket?.connected) connection.set('live');
}

export function connectRealtime(forUser: string): void {
  if (socket && userId === forUser) return;
  disconnectRealtime();
  userId = forUser;
  connection.set(navigator.onLine ? 'connecting' : 'offline');
  const s: UserSocket = io({
    path: '/socket.io',
    transports: ['websocket', 'polling'],
    // Read at every attempt: the current token and what this browser has already seen.
    auth: (cb) => cb({ token: session.get()?.accessToken ?? '', lastSeq: lastSeq() }),
  });
  socket = s;
  stopFollowing = followSession(s);
  s.on('connect', () => void catchUp());
  s.on('disconnect', () => connection.set(navigator.onLine ? 'reconnecting' : 'offline'));
  s.on('connect_error', () => connection.set(navigator.onLine ? 'reconnecting' : 'offline'));
  s.on('analysis:status', (n, ack) => {
    ack({ ok: true });
    apply(n);
  });
  s.on('notification', (n, ack) => {
    ack({ ok: true });
    apply(n);
  });
  s.on('announcement', (a, ack) => {
    // Delivery is at least once (re-sent until this socket acks): one the user already dismissed in
    // this browser, in any tab, is acknowledged without being shown again.
    if (acknowledgedHere().includes(a.id)) return ack({ ok: true });
    pendingAnnouncements.set((list) => (list.some((x) => x.id === a.id) ? list : [...list, { ...a, ack: () => ack({ ok: true }) }]));
  });
  s.on('thought-record:changed', (e) => thoughtRecordChanges.set(e));
  s.on('server:notice', (notice) => {
    lastNotice.set(notice);
    if (notice.code === 'session_revoked') endSession('revoked');
  });
}

/**
 * A socket that follows the session: a refreshed token is handed to it (`auth:refresh`) before the
 * old one expires, and when the server closed it or refused its handshake for its token, it
 * reconnects with a fresh one (socket.io does not retry those by itself). Both namespaces' sockets
 * use it. Returns the unsubscribe.
 */
/** What `followSession` needs of a socket of either namespace. */
interface SessionSocket {
  readonly connected: boolean;
  connect(): unknown;
  on(event: 'disconnect', listener: (reason: string) => void): unknown;
  on(event: 'connect_error', listener: (err: Error) => void): unknown;
  emit(event: 'auth:refresh', body: { token: string }, ack: () => void): unknown;
}

function followSession(s: SessionSocket): () => void {
  let refreshing = false;
  const reconnectWithFreshToken = async () => {
    if (refreshing) return;
    refreshing = true;
    try {
      const next = await refreshSession(session.get()?.accessToken).catch(() => null);
      if (next && !s.connected) s.connect();
    } finally {
      refreshing = false;
    }
  };
  s.on('disconnect', (reason) => void (reason === 'io server disconnect' && reconnectWithFreshToken()));
  s.on('connect_error', (err) => void (/token|unauthor|expired|revoked/i.test(err.message) && reconnectWithFreshToken()));
  return session.subscribe((next) => {
    if (next && s.connected) s.emit('auth:refresh', { token: next.accessToken }, () => undefined);
  });
}

let stopFollowing: () => void = () => undefined;
session.subscribe((next) => {
  if (!next) disconnectRealtime();
});

/** The other tabs of this browser: an announcement acknowledged in one is not shown again in the others. */
const announcementTabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('ed.announcements') : null;
announcementTabs?.addEventListener('message', (event: MessageEvent<{ acked: string }>) => dismiss(event.data.acked));

/** Announcements the user dismissed in this browser (newest 200), shared by its tabs. */
const ackedKey = () => `ed.ackedAnnouncements.${userId}`;
function acknowledgedHere(): string[] {
  try {
    return JSON.parse(localStorage.getItem(ackedKey()) ?? '[]') as string[];
  } catch {
    return [];
  }
}

/** Drops the announcement from this tab, acknowledging its delivery to this tab's socket. */
function dismiss(id: string): void {
  pendingAnnouncements.get().find((a) => a.id === id)?.ack?.();
  pendingAnnouncements.set((list) => list.filter((a) => a.id !== id));
}

/** The user pressed "got it": the delivery is acknowledged, the server records it, the other tabs drop it. */
export function acknowledgeAnnouncement(id: string): Promise<void> {
  localStorage.setItem(ackedKey(), JSON.stringify([...acknowledgedHere().filter((x) => x !== id), id].slice(-200)));
  dismiss(id);
  announcementTabs?.postMessage({ acked: id });
  return new Promise((resolve) => {
    if (!socket?.connected) return resolve();
    socket.timeout(5_000).emit('announcements:ack', { id }, () => resolve());
  });
}

export function disconnectRealtime(): void {
  stopFollowing();
  socket?.removeAllListeners();
  socket?.disconnect();
  socket = null;
  userId = null;
  seen.clear();
  liveStatuses.set(new Map());
  liveNotifications.set([]);
  pendingAnnouncements.set([]);
}

window.addEventListener('offline', () => connection.set('offline'));
window.addEventListener('online', () => {
  if (!socket) return;
  connection.set(socket.connected ? 'live' : 'reconnecting');
  if (!socket.connected) socket.connect();
});

// ---- /admin ----

export type AdminSocket = Socket<AdminServerToClientEvents, AdminClientToServerEvents>;

/**
 * The admin console's own connection to namespace `/admin` (its handshake needs the ADMIN role),
 * following the session like the user's socket; `close` ends both.
 */
export function connectAdmin(): { socket: AdminSocket; close(): void } {
  const s: AdminSocket = io('/admin', {
    path: '/socket.io',
    transports: ['websocket', 'polling'],
    auth: (cb) => cb({ token: session.get()?.accessToken ?? '' }),
  });
  const unfollow = followSession(s);
  return {
    socket: s,
    close() {
      unfollow();
      s.removeAllListeners();
      s.disconnect();
    },
  };
}
