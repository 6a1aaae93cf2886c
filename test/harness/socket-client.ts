import { io, type Socket } from 'socket.io-client';
import type {
  ActivityEvent,
  AdminClientToServerEvents,
  AdminServerToClientEvents,
  AnnouncementMessage,
  ClientToServerEvents,
  NotificationEnvelope,
  ServerNotice,
  ServerToClientEvents,
} from '../../kernel/contracts/socket-events.js';
import { waitUntil } from '../../kernel/wait.js';

export type UserSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type AdminSocket = Socket<AdminServerToClientEvents, AdminClientToServerEvents>;

export interface TestDevice {
  socket: UserSocket;
  /** Notifications in arrival order, deduplicated by id (as a real client must). */
  notifications: NotificationEnvelope[];
  /** Every delivery, duplicates included. */
  deliveries: number;
  announcements: AnnouncementMessage[];
  notices: ServerNotice[];
  lastSeq(): number;
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): void;
}

/**
 * A device as a real client behaves: websocket transport, token and last seen sequence in the
 * handshake, dedup by id, acks every delivery unless told not to.
 */
export async function connectDevice(baseUrl: string, token: string, options: { lastSeq?: number; ack?: boolean; extraHeaders?: Record<string, string> } = {}): Promise<TestDevice> {
  const socket: UserSocket = io(baseUrl, {
    transports: ['websocket'],
    auth: { token, ...(options.lastSeq !== undefined ? { lastSeq: options.lastSeq } : {}) },
    reconnection: false,
    forceNew: true,
    extraHeaders: options.extraHeaders,
  });
  const seen = new Set<string>();
  const device: TestDevice = {
    socket,
    notifications: [],
    deliveries: 0,
    announcements: [],
    notices: [],
    lastSeq: () => device.notifications.reduce((max, n) => Math.max(max, n.seq), options.lastSeq ?? 0),
    waitFor: (what, check, timeoutMs = 15_000) => waitUntil(what, check, timeoutMs, 25),
    close: () => void socket.disconnect(),
  };
  const onNotification = (n: NotificationEnvelope, ack: (r?: { ok: true }) => void) => {
    device.deliveries++;
    if (!seen.has(n.id)) {
      seen.add(n.id);
      device.notifications.push(n);
    }
    if (options.ack !== false) ack({ ok: true });
  };
  socket.on('analysis:status', onNotification as never);
  socket.on('notification', onNotification);
  socket.on('announcement', (a, ack) => {
    device.announcements.push(a);
    if (options.ack !== false) ack({ ok: true });
  });
  socket.on('server:notice', (notice) => device.notices.push(notice));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return device;
}

/** The connect_error a handshake ends with (fails the test if it connects). */
export function connectError(baseUrl: string, auth: unknown, options: { namespace?: string; extraHeaders?: Record<string, string> } = {}): Promise<Error & { data?: { code: string } }> {
  const socket = io(`${baseUrl}${options.namespace ?? ''}`, {
    transports: ['websocket'],
    auth: auth as Record<string, unknown>,
    reconnection: false,
    forceNew: true,
    extraHeaders: options.extraHeaders,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.disconnect();
      reject(new Error('connected, but a connect_error was expected'));
    });
    socket.once('connect_error', (err) => {
      socket.disconnect();
      resolve(err as Error & { data?: { code: string } });
    });
  });
}

export interface TestAdmin {
  socket: AdminSocket;
  activity: ActivityEvent[];
  ackCounts: Map<string, number>;
  waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): void;
}

export async function connectAdmin(baseUrl: string, token: string): Promise<TestAdmin> {
  const socket: AdminSocket = io(`${baseUrl}/admin`, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
  const admin: TestAdmin = {
    socket,
    activity: [],
    ackCounts: new Map(),
    waitFor: (what, check, timeoutMs = 15_000) => waitUntil(what, check, timeoutMs, 25),
    close: () => void socket.disconnect(),
  };
  socket.on('activity', (e) => admin.activity.push(e));
  socket.on('announcement:acks', (e) => admin.ackCounts.set(e.announcementId, e.acks));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return admin;
}
