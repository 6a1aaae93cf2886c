import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { isAppError } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import { KNOWN_CLIENT_EVENTS, type AckError, type ServerNotice } from '../kernel/contracts/socket-events.js';

export interface GuardOptions {
  eventsPerWindow: number;
  eventWindowMs: number;
}

/**
 * Per-socket protection: a fixed-window event budget (abusers are told why and disconnected),
 * unknown events ignored and counted, and `on(event, schema, handler)` that validates payloads
 * and answers every failure through the ack as `{ error: { code, message } }` — never by
 * throwing into the event loop.
 */
export function guardSocket(socket: Socket, deps: { options: GuardOptions; metrics: Metrics; log: Logger }) {
  const { options, metrics } = deps;
  let windowStart = Date.now();
  let count = 0;
  let exceeded = false;

  socket.use(([event], next) => {
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
        deps.log.warn({ userId: socket.data.userId, event }, 'socket exceeded its event rate; disconnecting');
        const notice: ServerNotice = { code: 'rate_limited', message: `more than ${options.eventsPerWindow} events in ${options.eventWindowMs} ms` };
        socket.emit('server:notice', notice);
        socket.disconnect(true);
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
    on<S extends z.ZodType, R>(event: string, schema: S, handler: (body: z.output<S>) => Promise<R>): void {
      socket.on(event, (body: unknown, ack?: unknown) => {
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
            deps.log.error({ err, event, userId: socket.data.userId }, 'socket handler failed');
            respond({ error: { code: 'internal_error', message: 'An unexpected error occurred' } });
          },
        );
      });
    },
  };
}
