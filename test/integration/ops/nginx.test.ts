import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { io } from 'socket.io-client';
import { createApiApp, type ApiApp } from '../../../src/app.js';
import { recordViolation } from '../../harness/contract-audit.js';
import type { UserSocket } from '../../harness/socket-client.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser } from '../../harness/users.js';
import { startEchoUpstream, websocketAccept, type EchoReply, type EchoUpstream } from './echo-upstream.js';
import { startNginx, type RunningNginx } from '../../../scripts/services/nginx.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(url: string, options: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function echo(url: string, headers: OutgoingHttpHeaders = {}): Promise<EchoReply & { replyHeaders: IncomingHttpHeaders }> {
  const reply = await send(url, { headers });
  expect(reply.status, reply.body).to.equal(200);
  return { ...(JSON.parse(reply.body) as EchoReply), replyHeaders: reply.headers };
}

/** Opens a WebSocket-style upgrade through the proxy and returns the raw tunnelled socket. */
function upgrade(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; socket: Socket; key: string }> {
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' },
    });
    req.on('upgrade', (res, socket) => resolve({ status: res.statusCode ?? 0, headers: res.headers, socket, key }));
    req.on('response', (res) => reject(new Error(`expected an upgrade, got HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

function nextChunk(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no data through the tunnel')), 5_000);
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(chunk.toString());
    });
  });
}

describe('nginx in front of two API instances (ops/nginx, real nginx)', function () {
  this.timeout(30_000);

  describe('with two stand-in instances', function () {
    let upstreams: EchoUpstream[] = [];
    let nginx: RunningNginx;

    before(async function () {
      upstreams = [await startEchoUpstream('api-1'), await startEchoUpstream('api-2')];
      nginx = await startNginx([upstreams[0]!.address, upstreams[1]!.address]);
    });

    after(async function () {
      await nginx?.stop();
      await Promise.all(upstreams.map((u) => u.stop()));
    });

    it('when a client asks for a websocket on /socket.io/, then nginx upgrades and tunnels both ways', async function () {
      const { status, headers, socket, key } = await upgrade(`${nginx.url}/socket.io/?EIO=4&transport=websocket`);
      try {
        expect(status).to.equal(101);
        expect(headers['sec-websocket-accept']).to.equal(websocketAccept(key));
        const instance = String(headers['x-instance']);
        expect(instance).to.match(/^api-[12]$/);
        socket.write('ping-1');
        expect(await nextChunk(socket)).to.equal(`${instance}:ping-1`);
        socket.write('ping-2');
        expect(await nextChunk(socket)).to.equal(`${instance}:ping-2`);
      } finally {
        socket.destroy();
      }
    });

    it('when polling requests carry the same sticky cookie, then they all land on the same instance', async function () {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i += 1) {
        const reply = await echo(`${nginx.url}/socket.io/?EIO=4&transport=polling&t=${i}`, { Cookie: 'ed_route=session-a' });
        seen.add(reply.instance);
      }
      expect([...seen]).to.have.length(1);
    });

    it('when polling clients carry different sticky keys, then they spread over both instances', async function () {
      const perInstance = new Map<string, number>();
      for (let i = 0; i < 40; i += 1) {
        const reply = await echo(`${nginx.url}/socket.io/?EIO=4&transport=polling`, { Cookie: `ed_route=client-${i}` });
        perInstance.set(reply.instance, (perInstance.get(reply.instance) ?? 0) + 1);
      }
      expect([...perInstance.keys()].sort()).to.deep.equal(['api-1', 'api-2']);
    });

    it('when a client polls without the cookie, then nginx hands it one that keeps it on the same instance', async function () {
      const first = await echo(`${nginx.url}/socket.io/?EIO=4&transport=polling`);
      const setCookie = first.replyHeaders['set-cookie']?.[0] ?? '';
      expect(setCookie).to.match(/^ed_route=127\.0\.0\.1; Path=\/socket\.io\/;.*HttpOnly/);
      const cookie = setCookie.split(';')[0]!;
      for (let i = 0; i < 5; i += 1) {
        const next = await echo(`${nginx.url}/socket.io/?EIO=4&transport=polling&sid=abc`, { Cookie: cookie });
        expect(next.instance).to.equal(first.instance);
        expect(next.replyHeaders['set-cookie'], 'cookie is not re-issued').to.equal(undefined);
      }
    });

    it('when REST requests come from one client, then they are balanced over both instances (no stickiness)', async function () {
      const seen = new Set<string>();
      for (let i = 0; i < 10; i += 1) seen.add((await echo(`${nginx.url}/api/v1/diaries?i=${i}`)).instance);
      expect([...seen].sort()).to.deep.equal(['api-1', 'api-2']);
    });

    it('when a request passes, then the upstream sees the request id, the real client address and the scheme', async function () {
      const reply = await echo(`${nginx.url}/api/v1/ping`, { 'X-Request-Id': 'req-123', 'X-Forwarded-For': '203.0.113.9' });
      expect(reply.headers['x-request-id']).to.equal('req-123');
      expect(reply.headers['x-forwarded-for'], 'the edge overwrites a spoofed X-Forwarded-For').to.equal('127.0.0.1');
      expect(reply.headers['x-real-ip']).to.equal('127.0.0.1');
      expect(reply.headers['x-forwarded-proto']).to.equal('http');
      expect(reply.replyHeaders['x-request-id']).to.equal('req-123');

      const generated = await echo(`${nginx.url}/api/v1/ping`, { 'X-Request-Id': 'not a sane id' });
      expect(generated.headers['x-request-id']).to.match(/^[0-9a-f]{32}$/);
      expect(generated.replyHeaders['x-request-id']).to.equal(generated.headers['x-request-id']);

      const lines = readFileSync(nginx.accessLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.some((l) => l.request_id === 'req-123' && l.status === 200)).to.equal(true);
    });

    it('when a body exceeds the edge limit, then nginx answers 413 with a request id and the API never sees it', async function () {
      const before = upstreams.reduce((n, u) => n + u.requests, 0);
      const reply = await send(`${nginx.url}/api/v1/diaries`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: Buffer.alloc(2 * 1024 * 1024, 0x61),
      });
      expect(reply.status).to.equal(413);
      expect(reply.headers['x-request-id']).to.match(/^[0-9a-f]{32}$/);
      expect(upstreams.reduce((n, u) => n + u.requests, 0)).to.equal(before);
    });

    it('when someone asks the edge for /metrics, then it is not published', async function () {
      for (const variant of ['/metrics', '/metrics/', '/METRICS', '/Metrics/', '/metrics?format=text']) expect((await send(`${nginx.url}${variant}`)).status, variant).to.equal(404);
      expect((await send(`${nginx.url}/nginx-health`)).body).to.equal('ok\n');
    });
  });

  describe('with two real API instances behind it (Socket.IO polling enabled)', function () {
    let first: TestApp;
    let second: ApiApp;
    let nginx: RunningNginx;

    before(async function () {
      first = await startTestApp('nginx', { realtime: { allowPolling: true } });
      second = await createApiApp({ ...first.config, app: { ...first.config.app, instanceId: `${first.config.app.instanceId}-b` } }, { log: first.log, responseAudit: recordViolation });
      await second.start();
      nginx = await startNginx([new URL(first.url()).host, new URL(second.url()).host]);
    });

    after(async function () {
      await nginx?.stop();
      await second?.stop();
      await first?.destroy();
    });

    it('when a client calls /healthz and /readyz through nginx, then the API answers and echoes the request id', async function () {
      const health = await send(`${nginx.url}/healthz`, { headers: { 'X-Request-Id': 'edge-check-1' } });
      expect(health.status).to.equal(200);
      expect(JSON.parse(health.body)).to.deep.equal({ status: 'ok' });
      expect(health.headers['x-request-id']).to.equal('edge-check-1');
      const ready = await send(`${nginx.url}/readyz`);
      expect(ready.status).to.equal(200);
    });

    it('when Socket.IO clients connect through nginx by long-polling and by websocket, then both sessions work end to end', async function () {
      const user = await createTestUser(first);
      // Long-polling sends many HTTP requests per session: each must reach the instance holding it.
      const polling: UserSocket = io(nginx.url, { transports: ['polling'], auth: { token: user.accessToken }, reconnection: false, forceNew: true });
      const websocket: UserSocket = io(nginx.url, { transports: ['websocket'], auth: { token: user.accessToken }, reconnection: false, forceNew: true });
      const received = new Map<UserSocket, string[]>([[polling, []], [websocket, []]]);
      try {
        for (const socket of [polling, websocket]) {
          socket.on('analysis:status', ((n: { id: string }, ack: () => void) => {
            received.get(socket)!.push(n.id);
            ack();
          }) as never);
          if (!socket.connected) {
            await new Promise<void>((resolve, reject) => {
              socket.once('connect', () => resolve());
              socket.once('connect_error', reject);
            });
          }
        }
        expect(polling.io.engine.transport.name).to.equal('polling');
        expect(websocket.io.engine.transport.name).to.equal('websocket');
        for (let i = 0; i < 5; i++) {
          expect(await polling.timeout(5_000).emitWithAck('notifications:ack', { upToSeq: 0 })).to.deep.equal({ acked: 0 });
        }
        await new Promise((r) => setTimeout(r, 200));
        first.realtime.delivery.deliver(user.userId, {
          id: `${user.userId}:1`,
          userId: user.userId,
          seq: 1,
          diaryId: '1',
          eventId: 'nginx-check',
          type: 'analysis.status',
          payload: { diaryId: '1', revision: 1, status: 'PROCESSING' },
          createdAt: new Date(),
          ackedAt: null,
        });
        const deadline = Date.now() + 10_000;
        while ([...received.values()].some((ids) => ids.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(received.get(polling)).to.deep.equal([`${user.userId}:1`]);
        expect(received.get(websocket)).to.deep.equal([`${user.userId}:1`]);
      } finally {
        polling.disconnect();
        websocket.disconnect();
      }
    });
  });
});
