import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import type { AnnouncementMessage } from '../kernel/contracts/socket-events.js';
import type { AnnouncementAcks } from '../src/announcements/announcement-acks.js';
import type { Announcement } from '../src/announcements/announcement-repository.js';
import type { AnnouncementBroadcast, AnnouncementQueries } from '../src/announcements/announcement-service.js';
import type { SocketServer, UserSocket } from './socket-server.js';

const toMessage = (a: Announcement): AnnouncementMessage => ({ id: a.id, title: a.title, body: a.body, createdAt: a.createdAt.toISOString() });

/** How far back an instance looks for announcements it may not have fanned out (lost broadcasts). */
const CATCH_UP_WINDOW_MS = 10 * 60_000;

interface SocketAnnouncement {
  message: AnnouncementMessage;
  /** When it was last sent to the socket (0: never). */
  lastSentAtMs: number;
  /** The socket.io ack id of the last send, so a resend can drop the stale one. */
  ackId: number;
  /** Kept once acked, so the same announcement found again (catch-up, fan-out) is not re-sent. */
  acked: boolean;
}

/** socket.io-parser's EVENT packet type. */
const EVENT = 2;

/**
 * Drops the ack callback socket.io keeps for a packet sent earlier (its `acks` map, which a
 * broadcast with acks fills without a timeout), so a device that never acks does not grow it by
 * one entry per resend.
 */
function forgetAck(socket: UserSocket, ackId: number): void {
  const { acks } = socket as unknown as { acks?: Map<number, unknown> };
  acks?.delete(ackId);
}

/**
 * Announcements over sockets. A new one is fanned out by every instance to its own sockets (told
 * through `serverSideEmit`), so each device's ack is attributed to its user and recorded once.
 * Devices that were offline get pending announcements on their next connect.
 *
 * A fan-out is one socket.io broadcast with acknowledgements (`adapter.broadcastWithAck`, local to
 * this instance): the packet is encoded, and its WebSocket frame built, once for all the sockets,
 * which share one ack callback; socket.io calls it with the acking socket as `this`, so every ack is
 * still attributed to its device.
 *
 * Delivery to a connected device is tracked per socket until that socket acks: every
 * `redeliverIntervalMs` an instance re-sends what its sockets have not acked within the ack
 * timeout, and looks in the store for announcements created since it started that it never fanned
 * out (a `serverSideEmit` lost while Redis was down), so a blip delays an announcement instead of
 * losing it for devices that stay connected.
 */
export function createAnnouncementChannel(deps: {
  server: SocketServer;
  queries: Pick<AnnouncementQueries, 'createdSince' | 'pendingFor' | 'invalidateRecent'>;
  acks: Pick<AnnouncementAcks, 'deviceAcked'>;
  ackTimeoutMs: number;
  redeliverIntervalMs: number;
  metrics: Metrics;
  log: Logger;
}): AnnouncementBroadcast & { sendPending(socket: UserSocket): Promise<void>; start(): void; stop(): void } {
  const { users, admin, clusterReachable } = deps.server;
  const log = deps.log.child({ component: 'announcements' });
  const bySocket = new WeakMap<UserSocket, Map<string, SocketAnnouncement>>();
  /** Announcements this instance has fanned out (id → createdAt ms), pruned after the catch-up window. */
  const fannedOut = new Map<string, number>();
  /** One ack callback per announcement, shared by every socket it is sent to. */
  const ackCallbacks = new Map<string, (this: UserSocket, ...args: unknown[]) => void>();
  const startedAtMs = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;

  function ackCallback(id: string) {
    let callback = ackCallbacks.get(id);
    if (!callback) {
      callback = function (this: UserSocket) {
        const entry = bySocket.get(this)?.get(id);
        if (!entry || entry.acked || !this.connected) return;
        entry.acked = true;
        deps.acks.deviceAcked(this.data.userId, id);
      };
      ackCallbacks.set(id, callback);
    }
    return callback;
  }

  /** Sends one announcement to these local sockets in one broadcast, each asked for an ack. */
  function emit(targets: Array<[UserSocket, SocketAnnouncement]>, message: AnnouncementMessage): void {
    if (targets.length === 0) return;
    const now = Date.now();
    const packet: { type: number; data: unknown[]; id?: number } = { type: EVENT, data: ['announcement', message] };
    // To every socket here (a fan-out): no room list to build; to some: the room of each one's id.
    const rooms = new Set<string>();
    if (targets.length < users.sockets.size) for (const [socket] of targets) rooms.add(socket.id);
    users.adapter.broadcastWithAck(packet as never, { rooms, except: new Set(), flags: { local: true } }, () => undefined, ackCallback(message.id));
    for (const [socket, entry] of targets) {
      // A resend replaces the previous ack id; the device may ack either, once.
      if (entry.lastSentAtMs > 0) forgetAck(socket, entry.ackId);
      entry.lastSentAtMs = now;
      entry.ackId = packet.id!;
    }
    deps.metrics.notificationsEmittedTotal.inc({ kind: 'announcement' }, targets.length);
  }

  /** Starts tracking `message` for each socket that does not have it yet, and sends it to those. */
  function sendTo(sockets: Iterable<UserSocket>, message: AnnouncementMessage): void {
    const fresh: Array<[UserSocket, SocketAnnouncement]> = [];
    for (const socket of sockets) {
      let known = bySocket.get(socket);
      if (!known) bySocket.set(socket, (known = new Map()));
      if (known.has(message.id)) continue;
      const entry: SocketAnnouncement = { message, lastSentAtMs: 0, ackId: -1, acked: false };
      known.set(message.id, entry);
      fresh.push([socket, entry]);
    }
    emit(fresh, message);
  }

  const fanOutLocally = (message: AnnouncementMessage) => {
    if (fannedOut.has(message.id)) return;
    fannedOut.set(message.id, Date.parse(message.createdAt));
    deps.queries.invalidateRecent();
    sendTo(users.sockets.values(), message);
  };
  admin.on('announcement:fan-out', (message) => fanOutLocally(message));

  async function tick(): Promise<void> {
    if (users.sockets.size === 0) return; // nobody to deliver to; those who connect get pending ones
    const now = Date.now();
    for (const [id, createdAtMs] of fannedOut) if (createdAtMs < now - CATCH_UP_WINDOW_MS) fannedOut.delete(id);
    const since = new Date(Math.max(startedAtMs, now - CATCH_UP_WINDOW_MS));
    for (const a of await deps.queries.createdSince(since)) fanOutLocally(toMessage(a));
    for (const id of ackCallbacks.keys()) if (!fannedOut.has(id)) ackCallbacks.delete(id);
    const due = new Map<string, { message: AnnouncementMessage; targets: Array<[UserSocket, SocketAnnouncement]> }>();
    for (const socket of users.sockets.values()) {
      for (const entry of bySocket.get(socket)?.values() ?? []) {
        if (entry.acked || now - entry.lastSentAtMs < deps.ackTimeoutMs) continue;
        let group = due.get(entry.message.id);
        if (!group) due.set(entry.message.id, (group = { message: entry.message, targets: [] }));
        group.targets.push([socket, entry]);
      }
    }
    for (const { message, targets } of due.values()) emit(targets, message);
  }

  return {
    broadcast(announcement: Announcement) {
      const message = toMessage(announcement);
      fanOutLocally(message);
      if (!clusterReachable()) return;
      try {
        admin.serverSideEmit('announcement:fan-out', message);
      } catch (err) {
        log.warn({ err }, 'announcement fan-out to other instances failed; the other instances find it in the store');
      }
    },
    async sendPending(socket: UserSocket): Promise<void> {
      for (const a of await deps.queries.pendingFor(socket.data.userId)) sendTo([socket], toMessage(a));
    },
    start(): void {
      timer = setInterval(() => {
        if (ticking) return;
        ticking = true;
        tick()
          .catch((err: unknown) => log.warn({ err }, 'announcement catch-up failed; retrying on the next tick'))
          .finally(() => (ticking = false));
      }, deps.redeliverIntervalMs);
      timer.unref();
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}
