import { expect } from 'chai';
import request from 'supertest';
import { createLogger } from '../../../kernel/logger.js';
import { waitUntil } from '../../../kernel/wait.js';
import { createWorkerApp, type WorkerApp } from '../../../workers/worker-app.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** A Server-Sent Events client over fetch: parses the stream as EventSource does (id, event, data; comments skipped). */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const events: SseEvent[] = [];
  let ended = false;
  if (res.ok && res.body) {
    void (async () => {
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            const event: SseEvent = { event: 'message', data: '' };
            for (const line of block.split('\n')) {
              if (line.startsWith(':') || !line) continue;
              const at = line.indexOf(':');
              const [field, value] = at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1).replace(/^ /, '')];
              if (field === 'id') event.id = value;
              else if (field === 'event') event.event = value;
              else if (field === 'data') event.data += value;
            }
            if (event.id !== undefined || event.data) events.push(event);
          }
        }
      } catch {
        // aborted by the test
      }
      ended = true;
    })();
  }
  return { res, events, ended: () => ended, close: () => abort.abort() };
}

describe('notification stream (Server-Sent Events)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let worker: WorkerApp;

  before(async function () {
    this.timeout(60_000);
    app = await startTestApp('ssestream', { realtime: { ssePollMs: 100, sseHeartbeatMs: 1_000, sseMaxStreamsPerUser: 2 } });
    worker = await createWorkerApp(app.config, { log: createLogger(app.config, 'worker') });
    await worker.start();
  });

  after(async () => {
    await worker.stop();
    await app.destroy();
  });

  const streamUrl = (query = '') => `${app.url()}/api/v1/notifications/stream${query}`;
  const write = async (user: TestUser, content: string) => (await request(app.server).post('/api/v1/diaries').set(user.auth).send({ content }).expect(201)).body.id as string;
  const notifications = (events: SseEvent[]) => events.filter((e) => e.event === 'notification').map((e) => ({ id: Number(e.id), n: JSON.parse(e.data) as { seq: number; type: string; payload: { diaryId: string; status: string } } }));
  const statusesOf = (events: SseEvent[], diaryId: string) => notifications(events).filter((e) => e.n.payload.diaryId === diaryId).map((e) => e.n.payload.status);

  it('when an entry is written, then the stream carries its PROCESSING and COMPLETED notifications, each with its seq as the event id', async () => {
    const user = await createTestUser(app);
    const stream = await openStream(streamUrl(`?access_token=${encodeURIComponent(user.accessToken)}`));
    try {
      expect(stream.res.status).to.equal(200);
      expect(stream.res.headers.get('content-type')).to.match(/^text\/event-stream/);
      const diaryId = await write(user, 'I was nervous before the talk, but it went well and I felt proud.');
      await waitUntil('both statuses streamed', () => statusesOf(stream.events, diaryId).includes('COMPLETED') || undefined, 20_000);
      expect(statusesOf(stream.events, diaryId)).to.deep.equal(['PROCESSING', 'COMPLETED']);
      for (const { id, n } of notifications(stream.events)) expect(id).to.equal(n.seq);
    } finally {
      stream.close();
    }
  });

  it('when a client reconnects with Last-Event-ID, then it gets exactly what came after: nothing twice, nothing missing', async () => {
    const user = await createTestUser(app);
    const first = await openStream(streamUrl(), { authorization: `Bearer ${user.accessToken}` });
    const a = await write(user, 'A quiet morning walk. I felt calm.');
    await waitUntil('the first entry streamed', () => statusesOf(first.events, a).includes('COMPLETED') || undefined, 20_000);
    const lastId = notifications(first.events).at(-1)!.id;
    first.close();

    const b = await write(user, 'Written while no stream was open. I was tired and sad.');
    const c = await write(user, 'And another one. Then a friend called and I laughed.');
    await waitUntil('both analysed', async () => {
      const items = (await request(app.server).get('/api/v1/notifications?limit=50').set(user.auth)).body.items as Array<{ payload: { diaryId: string; status: string } }>;
      return [b, c].every((id) => items.some((n) => n.payload.diaryId === id && n.payload.status === 'COMPLETED')) || undefined;
    }, 20_000);

    const resumed = await openStream(streamUrl(), { authorization: `Bearer ${user.accessToken}`, 'last-event-id': String(lastId) });
    try {
      await waitUntil('the missed ones streamed', () => (statusesOf(resumed.events, b).includes('COMPLETED') && statusesOf(resumed.events, c).includes('COMPLETED')) || undefined, 10_000);
      const ids = notifications(resumed.events).map((e) => e.id);
      expect(ids.every((id) => id > lastId), 'only after Last-Event-ID').to.equal(true);
      expect(new Set(ids).size).to.equal(ids.length);
      expect(statusesOf(resumed.events, a)).to.deep.equal([]);
      expect(statusesOf(resumed.events, b)).to.deep.equal(['PROCESSING', 'COMPLETED']);
    } finally {
      resumed.close();
    }
  });

  it('when the token is missing or forged, then 401; beyond the streams a user may hold, 429', async () => {
    const user = await createTestUser(app);
    expect((await fetch(streamUrl())).status).to.equal(401);
    const forged = `${user.accessToken.split('.').slice(0, 2).join('.')}.AAAA`;
    expect((await fetch(streamUrl(`?access_token=${forged}`))).status).to.equal(401);
    expect((await fetch(streamUrl('?lastEventId=x'), { headers: { authorization: `Bearer ${user.accessToken}` } })).status).to.equal(400);
    const held = [await openStream(streamUrl(), { authorization: `Bearer ${user.accessToken}` }), await openStream(streamUrl(), { authorization: `Bearer ${user.accessToken}` })];
    try {
      const third = await fetch(streamUrl(), { headers: { authorization: `Bearer ${user.accessToken}` } });
      expect(third.status).to.equal(429);
      expect(third.headers.get('retry-after')).to.match(/^\d+$/);
    } finally {
      for (const s of held) s.close();
    }
  });

  it('when the session is revoked (log out everywhere), then the open stream is told why and ends', async () => {
    const user = await createTestUser(app);
    const stream = await openStream(streamUrl(), { authorization: `Bearer ${user.accessToken}` });
    await request(app.server).post('/api/v1/auth/logout-all').set(user.auth).send({}).expect((r) => expect(r.status).to.be.oneOf([200, 204]));
    await waitUntil('the stream ended', () => stream.ended() || undefined, 10_000);
    const end = stream.events.find((e) => e.event === 'end');
    expect(JSON.parse(end!.data)).to.deep.equal({ reason: 'session_revoked' });
  });
});
