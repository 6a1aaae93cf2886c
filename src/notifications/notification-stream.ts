import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { RateLimitedError, UnauthorizedError } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/logger.js';
import { bearerToken, type AccessTokens, type VerifiedAccessToken } from '../auth/access-tokens.js';
import { queryInt } from '../http/field-schemas.js';
import { defineRoute, type RouteSpec } from '../http/route.js';
import type { NotificationService } from './notification-service.js';

export interface NotificationStreamOptions {
  /** How often the inbox heads of this instance's streams are read (one query for all of them). */
  pollMs: number;
  /** A comment line this often keeps proxies from closing an idle stream; the token is checked again then. */
  heartbeatMs: number;
  maxStreamsPerUser: number;
}

interface Stream {
  userId: string;
  token: string;
  lastSeq: number;
  out: PassThrough;
  sending: boolean;
  expiry: NodeJS.Timeout;
}

const streamQuery = z
  .object({
    /** For EventSource, which cannot set headers: the access token (the Authorization header works too). */
    access_token: z.string().min(1).max(4096).optional(),
    /** Resume after this sequence (a new EventSource cannot set Last-Event-ID). */
    lastEventId: queryInt(0).optional(),
  })
  .strict();

/**
 * The durable inbox as Server-Sent Events, for clients that cannot use Socket.IO: read-only, the
 * same notifications, the same token and revocation rules.
 *
 * - `id:` of each event is the notification's `seq`; a reconnecting EventSource sends it back as
 *   `Last-Event-ID` (or `?lastEventId=`) and gets exactly what came after. Without one the stream
 *   starts at the inbox's head: what is already there, a client reads over REST.
 * - Durable across instances without a second fan-out path: each instance reads the heads of all
 *   its streams' users in one query every `pollMs` and sends what is new, from the store.
 * - A comment every `heartbeatMs`; the token is verified again then (a revoked session ends the
 *   stream), and the stream ends when the token expires (`event: end`, `data: {"reason":…}`), so
 *   the client reconnects with a fresh token.
 */
export function createNotificationStreams(deps: { notifications: Pick<NotificationService, 'list' | 'heads'>; accessTokens: AccessTokens; log: Logger; options: NotificationStreamOptions }) {
  const { notifications, options } = deps;
  const log = deps.log.child({ component: 'notification-stream' });
  const streams = new Set<Stream>();
  let poll: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let polling = false;

  /** Writes unless the client is gone (Koa destroys the body stream when the response closes). */
  function write(stream: Stream, chunk: string): void {
    if (!stream.out.writableEnded && !stream.out.destroyed) stream.out.write(chunk);
  }

  function end(stream: Stream, reason: string): void {
    if (!streams.delete(stream)) return;
    clearTimeout(stream.expiry);
    write(stream, `event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
    if (!stream.out.destroyed) stream.out.end();
  }

  /** Sends what the store has after the stream's last sequence, oldest first. */
  async function catchUp(stream: Stream): Promise<void> {
    if (stream.sending) return;
    stream.sending = true;
    try {
      for (let page = 0; page < 50 && streams.has(stream); page++) {
        const items = await notifications.list(stream.userId, { afterSeq: stream.lastSeq, limit: 200 });
        for (const n of items) {
          write(stream, `id: ${n.seq}\nevent: notification\ndata: ${JSON.stringify(n)}\n\n`);
          stream.lastSeq = Math.max(stream.lastSeq, n.seq);
        }
        if (items.length < 200) break;
      }
    } catch (err) {
      log.warn({ err, userId: stream.userId }, 'stream catch-up failed; the next poll retries');
    } finally {
      stream.sending = false;
    }
  }

  async function pollHeads(): Promise<void> {
    if (polling || streams.size === 0) return;
    polling = true;
    try {
      const heads = await notifications.heads([...new Set([...streams].map((s) => s.userId))]);
      await Promise.all([...streams].filter((s) => (heads.get(s.userId) ?? 0) > s.lastSeq).map(catchUp));
    } catch (err) {
      log.warn({ err }, 'stream heads not read; the next poll retries');
    } finally {
      polling = false;
    }
  }

  async function checkTokens(): Promise<void> {
    for (const stream of [...streams]) {
      write(stream, ': ping\n\n');
      try {
        await deps.accessTokens.verify(stream.token);
      } catch (err) {
        if (err instanceof UnauthorizedError) end(stream, err.code === 'token_expired' ? 'token_expired' : 'session_revoked');
      }
    }
  }

  async function open(principal: VerifiedAccessToken, token: string, lastEventId: number | undefined): Promise<PassThrough> {
    const mine = [...streams].filter((s) => s.userId === principal.userId);
    if (mine.length >= options.maxStreamsPerUser) throw new RateLimitedError(options.heartbeatMs / 1000, `at most ${options.maxStreamsPerUser} streams per user`);
    const head = (await notifications.heads([principal.userId])).get(principal.userId) ?? 0;
    const out = new PassThrough();
    const stream: Stream = {
      userId: principal.userId,
      token,
      lastSeq: Math.min(lastEventId ?? head, head),
      out,
      sending: false,
      expiry: setTimeout(() => end(stream, 'token_expired'), Math.max(0, principal.expiresAtMs - Date.now())),
    };
    streams.add(stream);
    out.on('close', () => end(stream, 'closed'));
    // A write racing the client's disconnect must not become an unhandled 'error'.
    out.on('error', () => undefined);
    // A reconnecting client waits this long before its next attempt.
    write(stream, `retry: 2000\n: connected\n\n`);
    void catchUp(stream);
    return out;
  }

  const route: RouteSpec = defineRoute({
    method: 'get',
    path: '/notifications/stream',
    operationId: 'notificationStream',
    summary: 'The inbox as Server-Sent Events (read-only; resumes after Last-Event-ID; token by header or ?access_token=)',
    tags: ['notifications'],
    // The token may come in the query (EventSource sends no headers), so the route checks it itself.
    access: 'public',
    query: streamQuery,
    produces: 'text/event-stream',
    responses: { 200: z.string().meta({ description: 'text/event-stream: `id: <seq>`, `event: notification`, `data: <notification JSON>`; `event: end` before the server closes it' }) },
    errors: [401, 429],
    handler: async ({ query, ctx }) => {
      const header = ctx.get('authorization');
      const token = header ? bearerToken(header) : query.access_token;
      if (!token) throw new UnauthorizedError('An access token is required (Authorization header or access_token)');
      const principal = await deps.accessTokens.verify(token);
      const lastHeader = ctx.get('last-event-id');
      const fromHeader = /^\d{1,15}$/.test(lastHeader) ? Number(lastHeader) : undefined;
      const body = await open(principal, token, fromHeader ?? query.lastEventId);
      // Streams stay open: no socket timeout, no compression or buffering on the way.
      ctx.req.socket.setTimeout(0);
      ctx.req.socket.setNoDelay(true);
      return { status: 200, body, headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' } };
    },
  });

  return {
    route,
    /** Streams open on this instance. */
    size: () => streams.size,
    start(): void {
      poll = setInterval(() => void pollHeads(), options.pollMs);
      heartbeat = setInterval(() => void checkTokens(), options.heartbeatMs);
    },
    /** Ends every stream (`event: end`, reason `shutdown`): clients reconnect to another instance. */
    stop(): void {
      clearInterval(poll);
      clearInterval(heartbeat);
      for (const stream of [...streams]) end(stream, 'shutdown');
    },
  };
}
