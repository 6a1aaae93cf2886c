import type { z } from 'zod';
import { dropConnection, type EngineSocket } from './engine-connection.js';
import { isAppError } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import {
  KNOWN_CLIENT_EVENTS,
  type AckError,
  type AdminClientToServerEvents,
  type ClientToServerEvents,
  type ServerNotice,
  type SocketData,
} from '../kernel/contracts/socket-events.js';
import type { AdminSocket, UserSocket } from './socket-server.js';

export interface GuardOptions {
  eventsPerWindow: number;
  eventWindowMs: number;
}

/** The events clients of namespace `/` or `/admin` may send. */
type ClientEventName = keyof ClientToServerEvents | keyof AdminClientToServerEvents;

/**
 * What the guard needs of a socket. socket.io's typed `on` accepts only literal event names of
 * its contract, so the guard, which registers the names its caller passes (checked against the
 * contract by `ClientEventName`), holds the socket through this shape.
 */
interface GuardedSocket {
  data: SocketData;
  readonly connected: boolean;
  use(fn: (packet: [string, ...unknown[]], next: (err?: Error) => void) => void): unknown;
  on(event: string, listener: SharedListener): unknown;
  emit(event: 'server:notice', notice: ServerNotice): unknown;
  disconnect(close?: boolean): unknown;
  conn: Pick<EngineSocket, 'close' | 'transport'>;
}

/** How long a socket dropped for flooding has for its last notice before its TCP socket goes. */
const NOTICE_GRACE_MS = 500;

/** A listener registered on every socket of a namespace: socket.io calls it with the socket as `this`. */
type SharedListener = (this: GuardedSocket, body?: unknown, ack?: unknown) => void;

/**
 * Protection of one namespace's sockets: a fixed-window event budget per socket (abusers are told
 * why and disconnected), unknown events ignored and counted, and `on(event, schema, handler)` that
 * validates payloads and answers every failure through the ack as `{ error: { code, message } }`
 * — never by throwing into the event loop.
 *
 * The listeners are built once per namespace and shared by its sockets (socket.io calls an event
 * listener with the socket as `this`), so a socket holds references, not closures of its own: only
 * the budget's small state is per socket.
 */
export function createSocketGuard<S extends UserSocket | AdminSocket>(deps: { options: GuardOptions; metrics: Metrics; log: Logger }) {
  const { options, metrics } = deps;
  const listeners: Array<[ClientEventName, SharedListener]> = [];

  function budget(target: GuardedSocket) {
    let windowStart = Date.now();
    let count = 0;
    return ([event]: [string, ...unknown[]], next: (err?: Error) => void): void => {
      const now = Date.now();
      if (now - windowStart >= options.eventWindowMs) {
        windowStart = now;
        count = 0;
      }
      if (++count > options.eventsPerWindow) {
        metrics.socketEventsReceivedTotal.inc({ event: KNOWN_CLIENT_EVENTS.has(event) ? event : 'unknown', outcome: 'rate_limited' });
        if (count === options.eventsPerWindow + 1 && target.connected) {
          deps.log.warn({ userId: target.data.userId, event }, 'socket exceeded its event rate; disconnecting');
          target.emit('server:notice', { code: 'rate_limited', message: `more than ${options.eventsPerWindow} events in ${options.eventWindowMs} ms` });
          target.disconnect(true);
          dropConnection(target.conn, NOTICE_GRACE_MS);
        }
        return;
      }
      if (!KNOWN_CLIENT_EVENTS.has(event)) {
        metrics.socketEventsReceivedTotal.inc({ event: 'unknown', outcome: 'unknown' });
        return;
      }
      next();
    };
  }

  return {
    /** Declares a client event of this namespace: its payload schema and what answers it. */
    on<Z extends z.ZodType, R>(event: ClientEventName, schema: Z, handler: (socket: S, body: z.output<Z>) => Promise<R>): void {
      listeners.push([
        event,
        function (this: GuardedSocket, body?: unknown, ack?: unknown) {
          // A client may send the payload alone, or the ack function in the payload's place.
          const respond = typeof ack === 'function' ? (ack as (r: R | AckError) => void) : typeof body === 'function' ? (body as (r: R | AckError) => void) : () => undefined;
          const parsed = schema.safeParse(typeof body === 'function' ? undefined : body);
          if (!parsed.success) {
            metrics.socketEventsReceivedTotal.inc({ event, outcome: 'invalid' });
            respond({ error: { code: 'invalid_payload', message: parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ') } });
            return;
          }
          handler(this as unknown as S, parsed.data).then(
            (result) => {
              metrics.socketEventsReceivedTotal.inc({ event, outcome: 'ok' });
              respond(result);
            },
            (err: unknown) => {
              metrics.socketEventsReceivedTotal.inc({ event, outcome: 'error' });
              if (isAppError(err) && err.expose) return respond({ error: { code: err.code, message: err.message } });
              deps.log.error({ err, event, userId: this.data.userId }, 'socket handler failed');
              respond({ error: { code: 'internal_error', message: 'An unexpected error occurred' } });
            },
          );
        },
      ]);
    },

    /** Puts a newly connected socket under the budget and registers the declared events on it. */
    attach(socket: S): void {
      const target = socket as unknown as GuardedSocket;
      target.use(budget(target));
      for (const [event, listener] of listeners) target.on(event, listener);
    },
  };
}

export type SocketGuard<S extends UserSocket | AdminSocket> = ReturnType<typeof createSocketGuard<S>>;
