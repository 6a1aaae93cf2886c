import { createCoalescedReads } from '../kernel/coalesced-reads.js';
import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import { analysisStatusEnvelopeSchema, type AnalysisStatusEnvelope, type NotificationEnvelope } from '../kernel/contracts/socket-events.js';
import type { DeliveryAcks } from '../src/notifications/delivery-acks.js';
import { parseNotificationId, type NotificationRepository, type StoredNotification } from '../src/notifications/notification-repository.js';
import type { NotificationDelivery } from '../src/notifications/notification-service.js';
import { userRoom, type SocketServer, type UserSocket } from './socket-server.js';

/** Reads of a gap tried (a second apart) before held notifications are sent out of order. */
const CATCH_UP_ATTEMPTS = 30;

export function envelope(n: StoredNotification): NotificationEnvelope {
  return { id: n.id, seq: n.seq, type: n.type, payload: n.payload, createdAt: n.createdAt.toISOString() };
}

/** A notification ready for the socket event its type travels as (`analysis:status` payloads checked once here). */
type Outgoing = { event: 'analysis:status'; n: AnalysisStatusEnvelope } | { event: 'notification'; n: NotificationEnvelope };

function outgoing(n: NotificationEnvelope): Outgoing {
  if (n.type === 'analysis.status') {
    const parsed = analysisStatusEnvelopeSchema.safeParse(n);
    if (parsed.success) return { event: 'analysis:status', n: parsed.data };
  }
  return { event: 'notification', n };
}

/**
 * What one connected device has been given, kept by the instance that holds its socket.
 * `floor`: every notification of the user up to it has been sent to the device (or did not exist
 * when the store was last asked); `pending`: sent and not acknowledged yet, with when it was last
 * sent; `acked`: acknowledged ones above the floor (so a redelivery round does not send them
 * again); `held`: live notifications waiting while the device catches up from the store, so it
 * gets everything in sequence order.
 */
interface DeviceState {
  floor: number;
  pending?: Map<number, { out: Outgoing; sentAtMs: number }>;
  acked?: Set<number>;
  held?: Outgoing[];
}

/**
 * Delivery of stored notifications to every device of a user, with per-device acknowledgement.
 * The inbox's own ack (any device) serves REST and reconnect replay; each *connection* is tracked
 * here, so one device acking does not stop a second device that missed the broadcast from
 * getting it.
 * - live: the instance that stored the notification tells every instance (`serverSideEmit`),
 *   each sends it to its own sockets of that user, in sequence order: one user's notifications
 *   are stored by one consumer, one after the other, so a live one above `floor + 1` means the
 *   device missed some (a broadcast lost with a Redis blip, or still in a replay); it is held
 *   while the gap is read from the store, and everything is then sent in order;
 * - replay on connect: everything after the device's last seen sequence, plus anything unacked;
 * - redelivery rounds: what a device was sent and has not acknowledged within the ack timeout is
 *   sent again; and the heads of the users with a socket here are read (`_id` lookups), and a
 *   device whose floor is below its user's head is sent what the store has above the floor that
 *   it does not have (a broadcast lost with a dead instance or a Redis blip). The floor then
 *   moves up to the head read one round earlier: a number reserved by then has had a whole
 *   round to be stored, so the store's answer covers it.
 * So a lost broadcast becomes a delay, not a loss.
 */
export function createNotificationDelivery(deps: {
  server: SocketServer;
  repo: NotificationRepository;
  acks: DeliveryAcks;
  metrics: Metrics;
  log: Logger;
  options: { ackTimeoutMs: number; redeliverIntervalMs: number; replayLimit: number };
}): NotificationDelivery & {
  replay(socket: UserSocket, lastSeq: number | undefined): Promise<void>;
  /** A device acknowledged explicitly (`notifications:ack`): stop sending it those. */
  deviceAcked(socket: UserSocket, selector: { ids?: string[]; upToSeq?: number }): void;
  /** Called with each `analysis:status` handed to a local socket (first send, replay or redelivery). */
  onStatusSent(listener: (socket: UserSocket, n: AnalysisStatusEnvelope) => void): void;
  start(): void;
  stop(): Promise<void>;
} {
  const { repo, metrics, options } = deps;
  const { users: nsp, clusterReachable } = deps.server;
  const log = deps.log.child({ component: 'notification-delivery' });
  const devices = new WeakMap<UserSocket, DeviceState>();
  const statusListeners: Array<(socket: UserSocket, n: AnalysisStatusEnvelope) => void> = [];
  /** Head of each user with a socket here as read by the previous round. */
  const headsLastRound = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  // Connects come in bursts (a reconnect storm after an instance goes away): their head reads
  // share one `_id $in` query per batch instead of one query each.
  const headReads = createCoalescedReads((userIds: string[]) => repo.heads(userIds), { maxKeys: 100 });

  const stateOf = (socket: UserSocket): DeviceState => {
    let state = devices.get(socket);
    if (!state) devices.set(socket, (state = { floor: 0 }));
    return state;
  };

  const localSocketsOf = (userId: string): UserSocket[] =>
    [...(nsp.adapter.rooms.get(userRoom(userId)) ?? [])].map((id) => nsp.sockets.get(id)).filter((s): s is UserSocket => s !== undefined);

  function settle(state: DeviceState, seq: number): void {
    state.pending?.delete(seq);
    if (state.pending?.size === 0) state.pending = undefined;
    if (seq > state.floor) (state.acked ??= new Set()).add(seq);
  }

  function raiseFloor(state: DeviceState, floor: number): void {
    if (floor <= state.floor) return;
    state.floor = floor;
    for (const seq of state.acked ?? []) if (seq <= floor) state.acked!.delete(seq);
    if (state.acked?.size === 0) state.acked = undefined;
  }

  function emit(socket: UserSocket, state: DeviceState, out: Outgoing, kind: 'live' | 'replay' | 'redelivery'): void {
    const { seq, id } = out.n;
    (state.pending ??= new Map()).set(seq, { out, sentAtMs: Date.now() });
    metrics.notificationsEmittedTotal.inc({ kind });
    const acked = (err: Error | null) => {
      if (err || !socket.connected) return;
      settle(state, seq);
      deps.acks.deviceAcked(socket.data.userId, id);
    };
    const timed = socket.timeout(options.ackTimeoutMs);
    if (out.event === 'analysis:status') {
      timed.emit('analysis:status', out.n, acked);
      for (const listener of statusListeners) listener(socket, out.n);
    } else timed.emit('notification', out.n, acked);
  }

  /** Sends to one local device unless it has it (acknowledged, or sent and awaiting its ack). */
  function sendTo(socket: UserSocket, out: Outgoing, kind: 'live' | 'replay' | 'redelivery'): void {
    const state = stateOf(socket);
    if (state.pending?.has(out.n.seq) || state.acked?.has(out.n.seq)) return;
    emit(socket, state, out, kind);
  }

  /** Live: in order, or held until the device has caught up from the store. */
  function deliverLive(socket: UserSocket, out: Outgoing): void {
    const state = stateOf(socket);
    const { seq } = out.n;
    if (state.held) {
      state.held.push(out);
      return;
    }
    if (seq > state.floor + 1) {
      state.held = [out];
      void catchUp(socket, state);
      return;
    }
    sendTo(socket, out, 'live');
    if (seq === state.floor + 1) raiseFloor(state, seq);
  }

  /**
   * Sends the device what the store has between its floor and the highest held notification,
   * merged with the held ones, in sequence order; again while more arrive meanwhile. While the
   * store cannot be read the held ones keep waiting (order over latency: they were stored, so the
   * store is only away from this instance) and the read is tried again every second; after
   * CATCH_UP_ATTEMPTS the held ones are sent as they are and the redelivery rounds fill the gap.
   */
  async function catchUp(socket: UserSocket, state: DeviceState): Promise<void> {
    const { userId } = socket.data;
    let failures = 0;
    try {
      while (state.held && state.held.length > 0 && socket.connected) {
        const held = state.held;
        const top = Math.max(...held.map((o) => o.n.seq));
        let stored: StoredNotification[];
        try {
          stored = await repo.after(userId, state.floor, options.replayLimit, top);
        } catch (err) {
          if (++failures >= CATCH_UP_ATTEMPTS) throw err;
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          continue;
        }
        state.held = [];
        const bySeq = new Map<number, Outgoing>(stored.map((n) => [n.seq, outgoing(envelope(n))]));
        for (const o of held) bySeq.set(o.n.seq, o);
        for (const seq of [...bySeq.keys()].sort((a, b) => a - b)) sendTo(socket, bySeq.get(seq)!, 'live');
        // A truncated answer covers the store only up to its last notification.
        raiseFloor(state, stored.length >= options.replayLimit ? stored.at(-1)!.seq : top);
      }
    } catch (err) {
      log.warn({ err, userId }, 'catching a device up failed; redelivery will fill the gap');
      for (const o of (state.held ?? []).sort((a, b) => a.n.seq - b.n.seq)) sendTo(socket, o, 'live');
    } finally {
      state.held = undefined;
    }
  }

  const deliverLocally = (userId: string, out: Outgoing) => {
    for (const socket of localSocketsOf(userId)) deliverLive(socket, out);
  };
  nsp.on('notification:deliver', (userId, n) => deliverLocally(userId, outgoing(n)));

  async function redeliveryRound(): Promise<void> {
    const now = Date.now();
    const floors = new Map<string, number>();
    for (const socket of nsp.sockets.values()) {
      const { userId } = socket.data;
      const state = stateOf(socket);
      const due = [...(state.pending?.values() ?? [])].filter((sent) => now - sent.sentAtMs >= options.ackTimeoutMs);
      for (const sent of due) emit(socket, state, sent.out, 'redelivery');
      floors.set(userId, Math.min(floors.get(userId) ?? state.floor, state.floor));
    }
    for (const userId of headsLastRound.keys()) if (!floors.has(userId)) headsLastRound.delete(userId);
    if (floors.size === 0) return;
    const heads = await repo.heads([...floors.keys()]);
    for (const [userId, floor] of floors) {
      const head = heads.get(userId) ?? 0;
      const settled = Math.min(headsLastRound.get(userId) ?? floor, head);
      headsLastRound.set(userId, head);
      if (head <= floor) continue;
      const missed = await repo.after(userId, floor, options.replayLimit, head);
      // A truncated answer covers the store only up to its last notification.
      const covered = missed.length >= options.replayLimit ? Math.min(settled, missed.at(-1)!.seq) : settled;
      for (const socket of localSocketsOf(userId)) {
        const state = stateOf(socket);
        // A device catching up gets these from its own read, in order.
        if (state.held) continue;
        for (const n of missed) sendTo(socket, outgoing(envelope(n)), 'redelivery');
        raiseFloor(state, covered);
      }
    }
  }

  return {
    deliver(userId, stored) {
      const n = envelope(stored);
      deliverLocally(userId, outgoing(n));
      if (!clusterReachable()) return;
      try {
        nsp.serverSideEmit('notification:deliver', userId, n);
      } catch (err) {
        log.warn({ err, userId }, 'cross-instance delivery failed; redelivery will send it');
      }
    },

    deviceAcked(socket, selector) {
      const state = stateOf(socket);
      const { userId } = socket.data;
      for (const id of selector.ids ?? []) {
        const ref = parseNotificationId(id);
        if (ref?.userId === userId) settle(state, ref.seq);
      }
      // The floor is not raised to an `upToSeq`: a device acknowledges what it has seen, and may
      // not have seen everything below it (a broadcast lost on the way), which redelivery sends.
      if (selector.upToSeq !== undefined) {
        for (const seq of state.pending?.keys() ?? []) if (seq <= selector.upToSeq) settle(state, seq);
      }
    },

    async replay(socket, lastSeq) {
      const { userId } = socket.data;
      const state = stateOf(socket);
      // Live notifications wait until the replay is sent, so none overtakes it.
      state.held ??= [];
      try {
        const head = (await headReads.load(userId)) ?? 0;
        // A device that says nothing about what it saw is treated as up to date, except for what
        // nobody has acknowledged yet; one that claims more than was ever handed out (a store
        // restored from an older backup) is treated as up to date with what exists.
        const from = Math.min(lastSeq ?? head, head);
        raiseFloor(state, from);
        const missed = await repo.forReplay(userId, from, options.replayLimit, head);
        // One socket keeps emit order: unacknowledged ones at or below `from` first, then the rest in sequence order.
        for (const n of missed) sendTo(socket, outgoing(envelope(n)), 'replay');
        const later = missed.filter((n) => n.seq > from);
        if (later.length > 0 && missed.length < options.replayLimit) raiseFloor(state, later.at(-1)!.seq);
      } finally {
        if (state.held.length > 0) void catchUp(socket, state);
        else state.held = undefined;
      }
    },

    onStatusSent(listener) {
      statusListeners.push(listener);
    },

    start() {
      timer = setInterval(() => {
        round = round.then(() => redeliveryRound().catch((err: unknown) => log.warn({ err }, 'redelivery round failed')));
      }, options.redeliverIntervalMs);
      timer.unref();
    },

    async stop() {
      clearInterval(timer);
      await round;
    },
  };
}
