import type { z } from 'zod';
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
  use(fn: (packet: [string, ...unknown[]], next: (err?: Error) => void) => void): unknown;
  on(event: string, listener: (body?: unknown, ack?: unknown) => void): unknown;
  emit(event: 'server:notice', notice: ServerNotice): unknown;
  disconnect(close?: boolean): unknown;
}

/**
 * Per-socket protection: a fixed-window event budget (abusers are told why and disconnected),
 * unknown events ignored and counted, and `on(event, schema, handler)` that validates payloads
 * and answers every failure through the ack as `{ error: { code, message } }` — never by
 * throwing into the event loop.
 */
export function guardSocket(socket: UserSocket | AdminSocket, deps: { options: GuardOptions; metrics: Metrics; log: Logger }) {
  const { options, metrics } = deps;
  const target = socket as unknown as GuardedSocket;
  let windowStart = Date.now();
  let count = 0;
  let exceeded = false;

  target.use(([event], next) => {
    const now = Date.now();
    if (now - windowStart >= options.eventWindowMs) {
      windowStart = now;
      count = 0;
    }
    count++;
    if (count > options.eventsPerWindow) {
      metrics.socketEventsReceivedTotal.inc({ event: KNOWN_CLIENT_EVENTS.has(event) ? event : 'unknown', outcome: 'rate_limited' });
      if (!exceeded) {
        exceeded = true;
        deps.log.warn({ userId: target.data.userId, event }, 'socket exceeded its event rate; disconnecting');
        target.emit('server:notice', { code: 'rate_limited', message: `more than ${options.eventsPerWindow} events in ${options.eventWindowMs} ms` });
        target.disconnect(true);
      }
      return;
    }
    if (!KNOWN_CLIENT_EVENTS.has(event)) {
      metrics.socketEventsReceivedTotal.inc({ event: 'unknown', outcome: 'unknown' });
      return;
    }
    next();
  });

  return {
    on<Z extends z.ZodType, R>(event: ClientEventName, schema: Z, handler: (body: z.output<Z>) => Promise<R>): void {
      target.on(event, (body?: unknown, ack?: unknown) => {
        // A client may send the payload alone, or the ack function in the payload's place.
        const respond = typeof ack === 'function' ? (ack as (r: R | AckError) => void) : typeof body === 'function' ? (body as (r: R | AckError) => void) : () => undefined;
        const parsed = schema.safeParse(typeof body === 'function' ? undefined : body);
        if (!parsed.success) {
          metrics.socketEventsReceivedTotal.inc({ event, outcome: 'invalid' });
          respond({ error: { code: 'invalid_payload', message: parsed.error.issues.map((i) => `${i.path.join('.') || 'payload'}: ${i.message}`).join('; ') } });
          return;
        }
        handler(parsed.data).then(
          (result) => {
            metrics.socketEventsReceivedTotal.inc({ event, outcome: 'ok' });
            respond(result);
          },
          (err: unknown) => {
            metrics.socketEventsReceivedTotal.inc({ event, outcome: 'error' });
            if (isAppError(err) && err.expose) return respond({ error: { code: err.code, message: err.message } });
            deps.log.error({ err, event, userId: target.data.userId }, 'socket handler failed');
            respond({ error: { code: 'internal_error', message: 'An unexpected error occurred' } });
          },
        );
      });
    },
  };
}

export type SocketGuard = ReturnType<typeof guardSocket>;
