import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { RedisClient } from '../kernel/clients/redis.js';
import { Server, type Namespace, type Socket } from 'socket.io';
import type { AppConfig } from '../config/index.js';
import type {
  AdminClientToServerEvents,
  AdminServerToClientEvents,
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  ServerNotice,
  SocketData,
  UntrustedEvents,
} from '../kernel/contracts/socket-events.js';
import { limitFrames, type EngineSocket } from './engine-connection.js';
import { createHandshakeBudget } from './handshake-budget.js';
import type { Metrics } from '../kernel/metrics.js';

/** The Socket.IO server, typed by the contract (namespace `/`). */
export type AppServer = Server<UntrustedEvents<ClientToServerEvents>, ServerToClientEvents, InterServerEvents, SocketData>;
export type UserNamespace = Namespace<UntrustedEvents<ClientToServerEvents>, ServerToClientEvents, InterServerEvents, SocketData>;
export type UserSocket = Socket<UntrustedEvents<ClientToServerEvents>, ServerToClientEvents, InterServerEvents, SocketData>;
export type AdminNamespace = Namespace<UntrustedEvents<AdminClientToServerEvents>, AdminServerToClientEvents, InterServerEvents, SocketData>;
export type AdminSocket = Socket<UntrustedEvents<AdminClientToServerEvents>, AdminServerToClientEvents, InterServerEvents, SocketData>;
/**
 * What sockets of both namespaces offer that the shared helpers (handshake, token expiry) use:
 * each namespace's socket type satisfies it, so one helper serves both without a union.
 */
export interface EitherSocket {
  readonly id: string;
  data: SocketData;
  handshake: { auth: unknown };
  nsp: { adapter: { rooms: Map<string, Set<string>> } };
  emit(event: 'server:notice', notice: ServerNotice): boolean;
  disconnect(close?: boolean): unknown;
  once(event: 'disconnect', listener: () => void): unknown;
  join(rooms: string | string[]): Promise<void> | void;
  leave(room: string): Promise<void> | void;
}

export const userRoom = (userId: string) => `user:${userId}`;
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

export interface SocketServer {
  io: AppServer;
  users: UserNamespace;
  admin: AdminNamespace;
  /** False while the adapter cannot publish: cross-instance emits are skipped (redelivery covers them). */
  clusterReachable(): boolean;
  /** Attaches to the HTTP server (built last, once the routes exist). */
  attach(httpServer: HttpServer): void;
}

/**
 * Socket.IO with the Redis adapter, before any HTTP server exists: websocket first (polling only
 * when enabled, and then behind sticky sessions), a payload cap, an origin allowlist checked at
 * the handshake, and rooms spanning every instance (sharded pub/sub on Redis 7 when configured).
 */
/**
 * A page served by this API itself (the web app): its Origin names the host the request was sent
 * to (behind a trusted proxy, the host the proxy was asked for).
 */
function isSameOrigin(origin: string, req: IncomingMessage, trustProxy: boolean): boolean {
  const forwarded = trustProxy ? String(req.headers['x-forwarded-host'] ?? '').split(',')[0]!.trim() : '';
  const host = forwarded || req.headers.host;
  if (!host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function createSocketServer(deps: { config: AppConfig; pubsub: { pub: RedisClient; sub: RedisClient }; requestTimeoutMs: number; metrics: Metrics }): SocketServer {
  const { realtime, redis } = deps.config;
  const handshakes = createHandshakeBudget({ perWindow: realtime.handshakesPerAddressPerWindow, windowMs: realtime.eventWindowMs, trustProxy: deps.config.http.trustProxy });
  const { pub, sub } = deps.pubsub;
  const allowed = new Set(realtime.corsOrigins);
  const key = `${redis.keyPrefix}socket.io`;
  const adapter = realtime.shardedPubSub
    ? createShardedAdapter(pub, sub, { channelPrefix: key })
    : createAdapter(pub, sub, { key, requestsTimeout: deps.requestTimeoutMs, publishOnSpecificResponseChannel: true });

  /** Engine connections with a socket in a namespace (past the token check). */
  const joined = new WeakSet<object>();
  const io: AppServer = new Server({
    path: realtime.path,
    serveClient: false,
    transports: realtime.allowPolling ? ['websocket', 'polling'] : ['websocket'],
    maxHttpBufferSize: realtime.maxPayloadBytes,
    pingInterval: 20_000,
    pingTimeout: 20_000,
    connectTimeout: 10_000,
    cors: { origin: [...allowed], credentials: true },
    // Browsers always send Origin; a page from a site not on the list (the API's own pages, the
    // web app under /app/, are always allowed) is refused before any handshake work. Native and server-side clients send none and authenticate by token alone.
    // An address opening connections faster than its budget is refused before anything else.
    allowRequest: (req: IncomingMessage, callback) => {
      if (!handshakes.take(req)) {
        deps.metrics.socketConnectErrorsTotal.inc({ reason: 'address_budget' });
        callback('too many connections from this address', false);
        return;
      }
      const origin = req.headers.origin;
      const ok = origin === undefined || allowed.has(origin) || isSameOrigin(origin, req, deps.config.http.trustProxy);
      callback(ok ? null : 'origin not allowed', ok);
    },
    adapter,
  });
  return {
    io,
    users: io.of('/'),
    // socket.io types every namespace with the server's event maps; /admin has its own contract.
    admin: io.of('/admin') as unknown as AdminNamespace,
    clusterReachable: () => pub.status === 'ready',
    attach(httpServer) {
      io.attach(httpServer);
      // Socket.IO's memory advice: the engine keeps each connection's upgrade request (headers, raw
      // headers, stream state) for its lifetime. Nothing here reads it after the origin check above,
      // so it is dropped once the connection is open (the handshake's headers, url and query then
      // read as empty; the address is kept). engine.io's upgrade response object still holds the
      // request until the TCP socket closes, so its headers, the bulk of it, are let go too.
      io.engine.on('connection', (rawSocket: EngineSocket) => {
        const request = rawSocket.request;
        rawSocket.request = null;
        if (request) {
          request.headers = {};
          request.rawHeaders = [];
        }
        limitFrames(rawSocket, realtime, joined);
      });
      for (const nsp of [io.of('/'), io.of('/admin')]) nsp.on('connection', (socket) => joined.add(socket.conn));
    },
  };
}
