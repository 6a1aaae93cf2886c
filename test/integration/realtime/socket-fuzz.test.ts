import { expect } from 'chai';
import request from 'supertest';
import WebSocket from 'ws';
import { runSocketFuzz } from '../../../scripts/fuzz/socket-fuzz.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { connectDevice } from '../../harness/socket-client.js';
import { createTestUser } from '../../harness/users.js';

/**
 * Socket fuzzing, short seeded profile (bench/socket-fuzz.ts is the long run with figures): raw
 * engine.io / Socket.IO abuse from many connections at once while another user's device keeps
 * working. Timing is the bench's business; here: nothing crashes, nothing leaks, abusers go.
 */
describe('socket fuzzing: malformed frames, wrong types, huge and deep payloads, floods', function () {
  this.timeout(120_000);
  let app: TestApp;

  before(async () => {
    app = await startTestApp('sockfuzz');
  });

  after(async () => {
    await app?.destroy();
  });

  /** A raw engine.io connection; resolves when the server has closed it, with what it had sent by then. */
  async function rawConnection(connectPacket: string | undefined, frame: string, count: number): Promise<{ closedByServer: boolean; ms: number }> {
    const ws = new WebSocket(`${app.url().replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const started = Date.now();
    const closed = new Promise<boolean>((resolve) => ws.once('close', () => resolve(true)));
    if (connectPacket) ws.send(connectPacket);
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < count && ws.readyState === WebSocket.OPEN; i++) ws.send(frame);
    const closedByServer = await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), 3_000))]);
    ws.terminate();
    return { closedByServer, ms: Date.now() - started };
  }

  it('when a connection that never joined a namespace keeps asking to join with forged tokens, then it is dropped after its CONNECT allowance', async () => {
    // Socket.IO answers each refused CONNECT and waits for the next: every one cost a token check.
    const forged = await rawConnection(undefined, `40${JSON.stringify({ token: 'eyJhbGciOiJIUzI1NiJ9.e30.forged' })}`, 20);
    expect(forged.closedByServer).to.equal(true);
    const adminTries = await rawConnection(undefined, '40/admin,{"token":"x"}', 20);
    expect(adminTries.closedByServer).to.equal(true);
  });

  it('when a joined connection sends more frame bytes than its window allows (made-up acks need no event budget), then it is dropped', async () => {
    const user = await createTestUser(app);
    const deep = `43999${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const over = Math.ceil(app.config.realtime.frameBytesPerWindow / deep.length) + 2;
    const result = await rawConnection(`40${JSON.stringify({ token: user.accessToken })}`, deep, over);
    expect(result.closedByServer).to.equal(true);
    // A few small made-up acks are not a reason to drop anyone.
    const polite = await rawConnection(`40${JSON.stringify({ token: user.accessToken })}`, '43999[{}]', 5);
    expect(polite.closedByServer).to.equal(false);
  });

  it('when 30 connections at a time send garbage for seconds, then the server stays up, the other user is answered every time, abusers are dropped and no prototype is polluted', async () => {
    const victim = await createTestUser(app);
    const abusers = await Promise.all(Array.from({ length: 3 }, () => createTestUser(app)));
    const result = await runSocketFuzz({
      baseUrl: app.url(),
      victimToken: victim.accessToken,
      abuserTokens: abusers.map((a) => a.accessToken),
      abusers: 30,
      framesPerAbuser: 300,
      quietMs: 2_000,
      fuzzMs: 6_000,
      seed: 20261201,
      maxPayloadBytes: app.config.realtime.maxPayloadBytes,
    });
    console.log(`      ${result.abusers} abusive connections, ${result.framesSent} frames, ${result.dropped} dropped; victim p99 ${result.quiet.p99.toFixed(1)} ms quiet, ${result.underFuzz.p99.toFixed(1)} ms under fuzz`);
    expect(result.victimConnected).to.equal(true);
    expect(result.underFuzz.answered, 'every probe of the other user answered').to.equal(result.underFuzz.probes);
    expect(result.abusers).to.be.greaterThan(30);
    // Every category was sent, and nearly every abuser was closed by the server (the rest only
    // sent well-formed frames the guard answers with an error ack).
    expect(Object.keys(result.kinds)).to.have.length(12);
    expect(result.dropped / result.abusers).to.be.greaterThan(0.9);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect((await request(app.server).get('/healthz')).status).to.equal(200);
    // A fresh device of an abusing user still connects and gets answers: nobody was locked out.
    const device = await connectDevice(app.url(), abusers[0]!.accessToken);
    try {
      const answer = await device.socket.timeout(5_000).emitWithAck('notifications:ack', { upToSeq: 0 });
      expect(answer).to.not.have.property('error');
    } finally {
      device.close();
    }
  });
});
