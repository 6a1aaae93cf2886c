import type { Namespace, Socket } from 'socket.io';
import type { Logger } from '../src/platform/logger.js';
import type { Metrics } from '../src/platform/metrics.js';
import type { NotificationRepository, StoredNotification } from '../src/notifications/notification-repository.js';
import type { NotificationDelivery } from '../src/notifications/notification-service.js';
import type { NotificationEnvelope } from './contract.js';

export const userRoom = (userId: string) => `user:${userId}`;
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

/** The socket event a notification type travels as. */
export function eventFor(type: string): 'analysis:status' | 'notification' {
  return type === 'analysis.status' ? 'analysis:status' : 'notification';
}

export function envelope(n: StoredNotification): NotificationEnvelope {
  return { id: n.id, seq: n.seq, type: n.type, payload: n.payload, createdAt: n.createdAt.toISOString() };
}

/**
 * What one connected device has acknowledged, kept by the instance that holds its socket.
 * `cursor`: every sequence up to it is acknowledged by this device; `acked`: acknowledged ones
 * above the cursor; `sentAt`: when each unacknowledged one was last sent to it.
 */
interface DeviceState {
  cursor: number;
  acked: Set<number>;
  sentAt: Map<number, number>;
}

/**
 * Delivery of stored notifications to every device of a user, with per-device acknowledgement.
 * The inbox's own ack (any device) serves REST and reconnect replay; each *connection* is tracked
 * here, so one device acking does not stop a second device that missed the broadcast from
 * getting it.
 * - live: the instance that stored the notification tells every instance (`serverSideEmit`),
 *   each sends it to its own sockets of that user;
 * - replay on connect: everything after the device's last seen sequence, plus anything unacked;
 * - catch-up: each instance periodically looks for notifications above each local device's
 *   cursor that the device has not acked, and sends them again once the ack timeout has passed.
 * So a lost broadcast (dead instance, Redis blip, dropped socket) becomes a delay, not a loss.
 */
export function createNotificationDelivery(deps: {
  nsp: Namespace;
  repo: NotificationRepository;
  metrics: Metrics;
  log: Logger;
  /** False while the Redis adapter cannot publish: cross-instance sends are skipped, catch-up covers them. */
  clusterReachable: () => boolean;
  options: { ackTimeoutMs: number; redeliverIntervalMs: number; replayLimit: number };
}): NotificationDelivery & {
  replay(socket: Socket, lastSeq: number | undefined): Promise<void>;
  /** A device acknowledged explicitly (`notifications:ack`): stop sending it those. */
  deviceAcked(socket: Socket, selector: { ids?: string[]; upToSeq?: number }): Promise<void>;
  start(): void;
  stop(): Promise<void>;
} {
  const { nsp, repo, metrics, options } = deps;
  const log = deps.log.child({ component: 'notification-delivery' });
  const devices = new WeakMap<Socket, DeviceState>();
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();

  const stateOf = (socket: Socket): DeviceState => {
    let state = devices.get(socket);
    if (!state) {
      state = { cursor: 0, acked: new Set(), sentAt: new Map() };
      devices.set(socket, state);
    }
    return state;
  };

  const localSocketsOf = (userId: string): Socket[] =>
    [...(nsp.adapter.rooms.get(userRoom(userId)) ?? [])].map((id) => nsp.sockets.get(id)).filter((s): s is Socket => s !== undefined);

  function markAcked(state: DeviceState, seqs: number[], upToSeq = 0): void {
    if (upToSeq > state.cursor) state.cursor = upToSeq;
    for (const seq of seqs) {
      state.sentAt.delete(seq);
      if (seq > state.cursor) state.acked.add(seq);
    }
    for (const seq of state.sentAt.keys()) if (seq <= state.cursor) state.sentAt.delete(seq);
    for (const seq of state.acked) if (seq <= state.cursor) state.acked.delete(seq);
    while (state.acked.delete(state.cursor + 1)) state.cursor++;
  }

  function onDeviceAck(socket: Socket, n: NotificationEnvelope): void {
    markAcked(stateOf(socket), [n.seq]);
    repo.ack(socket.data.userId as string, { ids: [n.id] }).then(
      (count) => count > 0 && metrics.notificationsAckedTotal.inc(count),
      (err: unknown) => log.warn({ err }, 'recording an ack failed; the inbox keeps it unacknowledged'),
    );
  }

  /** Sends to one local device unless it has it already or a send is still awaiting its ack. */
  function sendTo(socket: Socket, n: NotificationEnvelope, kind: 'live' | 'replay' | 'redelivery', force = false): void {
    const state = stateOf(socket);
    const acked = n.seq <= state.cursor || state.acked.has(n.seq);
    const sentAt = state.sentAt.get(n.seq);
    if (!force && (acked || (sentAt !== undefined && Date.now() - sentAt < options.ackTimeoutMs))) return;
    state.sentAt.set(n.seq, Date.now());
    metrics.notificationsEmittedTotal.inc({ kind });
    socket.timeout(options.ackTimeoutMs).emit(eventFor(n.type), n, (err: Error | null) => {
      if (!err) onDeviceAck(socket, n);
    });
  }

  const deliverLocally = (userId: string, n: NotificationEnvelope) => {
    for (const socket of localSocketsOf(userId)) sendTo(socket, n, 'live');
  };
  nsp.on('notification:deliver', (userId: string, n: NotificationEnvelope) => deliverLocally(userId, n));

  async function catchUpRound(): Promise<void> {
    const cursors = new Map<string, number>();
    for (const socket of nsp.sockets.values()) {
      const userId = socket.data.userId as string | undefined;
      if (!userId) continue;
      const cursor = stateOf(socket).cursor;
      cursors.set(userId, Math.min(cursors.get(userId) ?? cursor, cursor));
    }
    if (cursors.size === 0) return;
    const pending = await repo.afterCursors([...cursors].map(([userId, afterSeq]) => ({ userId, afterSeq })), options.replayLimit);
    const byUser = new Map<string, StoredNotification[]>();
    for (const n of pending) byUser.set(n.userId, [...(byUser.get(n.userId) ?? []), n]);
    for (const [userId, list] of byUser) {
      for (const socket of localSocketsOf(userId)) {
        const state = stateOf(socket);
        // Sequences missing below the first stored one were deleted (with their diary): skip them.
        const first = list.find((n) => n.seq > state.cursor);
        if (first && first.seq > state.cursor + 1 && !list.some((n) => n.seq === state.cursor + 1)) {
          state.cursor = first.seq - 1;
          while (state.acked.delete(state.cursor + 1)) state.cursor++;
        }
        for (const n of list) sendTo(socket, envelope(n), 'redelivery');
      }
    }
  }

  return {
    deliver(userId, stored) {
      const n = envelope(stored);
      deliverLocally(userId, n);
      if (!deps.clusterReachable()) return;
      try {
        nsp.serverSideEmit('notification:deliver', userId, n);
      } catch (err) {
        log.warn({ err, userId }, 'cross-instance delivery failed; catch-up will deliver it');
      }
    },

    async deviceAcked(socket, selector) {
      const seqs = selector.ids?.length ? await repo.seqsOf(socket.data.userId as string, selector.ids) : [];
      markAcked(stateOf(socket), seqs, selector.upToSeq);
    },

    async replay(socket, lastSeq) {
      const userId = socket.data.userId as string;
      const state = stateOf(socket);
      // A device that says nothing about what it saw is treated as up to date, except for what
      // nobody has acknowledged yet; a device that gives its last sequence gets everything after.
      state.cursor = lastSeq ?? (await repo.lastSeq(userId));
      const pending = await repo.forReplay(userId, state.cursor, options.replayLimit);
      // One socket keeps emit order, so the device receives them in sequence order.
      for (const n of pending) sendTo(socket, envelope(n), 'replay', true);
    },

    start() {
      timer = setInterval(() => {
        round = catchUpRound().catch((err: unknown) => log.warn({ err }, 'catch-up round failed'));
      }, options.redeliverIntervalMs);
      timer.unref();
    },

    async stop() {
      clearInterval(timer);
      await round;
    },
  };
}
