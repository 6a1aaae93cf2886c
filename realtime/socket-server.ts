import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import type { AppConfig } from '../config/index.js';

/**
 * Socket.IO on the API's HTTP server: websocket first (polling only when enabled, and then behind
 * sticky sessions), a payload cap, an origin allowlist checked at the handshake, and the Redis
 * adapter so rooms span every instance (sharded pub/sub on Redis 7 when configured).
 */
export function createSocketServer(deps: { httpServer: HttpServer; config: AppConfig; pub: Redis; sub: Redis; requestTimeoutMs: number }): Server {
  const { realtime, redis } = deps.config;
  const allowed = new Set(realtime.corsOrigins);
  const key = `${redis.keyPrefix}socket.io`;
  const adapter = realtime.shardedPubSub
    ? createShardedAdapter(deps.pub, deps.sub, { channelPrefix: key })
    : createAdapter(deps.pub, deps.sub, { key, requestsTimeout: deps.requestTimeoutMs, publishOnSpecificResponseChannel: true });

  return new Server(deps.httpServer, {
    path: realtime.path,
    serveClient: false,
    transports: realtime.allowPolling ? ['websocket', 'polling'] : ['websocket'],
    maxHttpBufferSize: realtime.maxPayloadBytes,
    pingInterval: 20_000,
    pingTimeout: 20_000,
    connectTimeout: 10_000,
    cors: { origin: [...allowed], credentials: true },
    // Browsers always send Origin; a page from a site not on the list is refused before any
    // handshake work. Native and server-side clients send none and authenticate by token alone.
    allowRequest: (req: IncomingMessage, callback) => {
      const origin = req.headers.origin;
      callback(origin === undefined || allowed.has(origin) ? null : 'origin not allowed', origin === undefined || allowed.has(origin));
    },
    adapter,
  });
}
