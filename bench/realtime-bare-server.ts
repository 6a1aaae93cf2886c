/**
 * The baseline of bench/realtime-fanout.ts: socket.io with the Redis adapter and nothing else (no
 * auth, no storage, default options). Run as a child process:
 *   PORT=... REDIS_URL=... node --import tsx bench/realtime-bare-server.ts
 * `POST /broadcast` with an announcement as its JSON body does `io.emit('announcement', body)`,
 * which reaches this instance's sockets directly and every other instance's through Redis;
 * `POST /broadcast?acked=1` asks every socket for an ack instead: each instance (told through
 * `serverSideEmit`) emits to its own sockets with an ack timeout, as ours does, and drops the acks;
 * `GET /healthz` answers 200 once both Redis connections are ready; `GET /stats` gives the
 * number of sockets connected to this instance.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT);
const redisUrl = process.env.REDIS_URL;
if (!Number.isInteger(port) || port <= 0 || !redisUrl) {
  console.error('realtime-bare-server: PORT and REDIS_URL are required');
  process.exit(2);
}

const pub = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
const sub = pub.duplicate();
for (const client of [pub, sub]) client.on('error', (err: Error) => console.error(`redis: ${err.message}`));

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const httpServer = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return answer(res, pub.status === 'ready' && sub.status === 'ready' ? 200 : 503, { pub: pub.status, sub: sub.status });
  if (req.method === 'GET' && req.url === '/stats') return answer(res, 200, { sockets: io.of('/').sockets.size });
  if (req.method === 'POST' && (req.url === '/broadcast' || req.url === '/broadcast?acked=1')) {
    const acked = req.url.endsWith('acked=1');
    readJson(req).then(
      (body) => {
        if (acked) {
          emitAcked(body);
          io.serverSideEmit('acked-broadcast', body);
        } else io.emit('announcement', body);
        answer(res, 202, { ok: true });
      },
      (err: unknown) => answer(res, 400, { error: err instanceof Error ? err.message : String(err) }),
    );
    return;
  }
  answer(res, 404, { error: 'not found' });
});

const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { key: process.env.ADAPTER_KEY ?? 'bench-bare' }) });

/** This instance's sockets, each asked for an ack (socket.io's broadcast with acknowledgements). */
function emitAcked(body: unknown): void {
  io.local.timeout(10_000).emit('announcement', body, () => undefined);
}
io.on('acked-broadcast', (body: unknown) => emitAcked(body));

httpServer.listen(port, '127.0.0.1', () => console.log(`realtime-bare-server listening on 127.0.0.1:${port}`));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    const timer = setTimeout(() => process.exit(1), 5_000);
    timer.unref();
    void io.close(() => {
      pub.disconnect();
      sub.disconnect();
      process.exit(0);
    });
  });
}
