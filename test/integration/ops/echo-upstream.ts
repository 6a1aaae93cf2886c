import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/** What an echo upstream answers to a plain request. */
export interface EchoReply {
  instance: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface EchoUpstream {
  instance: string;
  address: string;
  /** Plain (non-upgrade) requests received so far. */
  readonly requests: number;
  stop(): Promise<void>;
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function websocketAccept(key: string): string {
  return createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
}

/**
 * A stand-in API instance for proxy tests: answers every request with its instance id and the
 * headers it received, and accepts WebSocket upgrades (RFC 6455 handshake), after which it echoes
 * each chunk back prefixed with its instance id. Socket.IO itself is not needed to prove that the
 * proxy routes, upgrades and tunnels.
 */
export async function startEchoUpstream(instance: string): Promise<EchoUpstream> {
  const sockets = new Set<Duplex>();
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    req.resume();
    req.on('end', () => {
      const body: EchoReply = { instance, method: req.method ?? '', url: req.url ?? '', headers: req.headers };
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Request-Id': String(req.headers['x-request-id'] ?? '') });
      res.end(JSON.stringify(body));
    });
  });
  server.on('upgrade', (req, socket, head) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${websocketAccept(key)}\r\nX-Instance: ${instance}\r\n\r\n`,
    );
    if (head.length > 0) socket.write(`${instance}:${head.toString()}`);
    socket.on('data', (chunk: Buffer) => socket.write(`${instance}:${chunk.toString()}`));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    instance,
    address: `127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
