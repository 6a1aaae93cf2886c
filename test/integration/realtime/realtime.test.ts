import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import mongoose from 'mongoose';
import { createRedis } from '../../../kernel/clients/redis.js';
import { io } from 'socket.io-client';
import request from 'supertest';
import { createLogger } from '../../../kernel/logger.js';
import { createWorkerApp, type WorkerApp } from '../../../workers/worker-app.js';
import { registerVerifyLogin } from '../../harness/auth-flows.js';
import { waitUntil } from '../../../kernel/wait.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { connectAdmin, connectDevice, connectError, type TestDevice } from '../../harness/socket-client.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';

describe('realtime over Socket.IO (one instance, worker in-process)', () => {
  let app: TestApp;
  let worker: WorkerApp;
  let smtp: SmtpCapture;

  before(async function () {
    this.timeout(60_000);
    smtp = await startSmtpCapture();
    app = await startTestApp('realtime', {
      ...smtp.configOverrides(),
      realtime: { ackTimeoutMs: 400, redeliverIntervalMs: 200, eventsPerWindow: 20, eventWindowMs: 1_000, maxPayloadBytes: 4_096, corsOrigins: ['https://app.example'] },
    });
    worker = await createWorkerApp(app.config, { log: createLogger(app.config, 'worker') });
    await worker.start();
  });

  after(async () => {
    await worker.stop();
    await app.destroy();
    await smtp.stop();
  });

  const write = (user: TestUser, content: string) => request(app.server).post('/api/v1/diaries').set(user.auth).send({ content }).expect(201);

  describe('handshake', () => {
    let user: TestUser;
    before(async () => {
      user = await createTestUser(app);
    });

    it('when one user opens more sockets than the cap on an instance, then the extra one is refused until another closes', async () => {
      const capped = await startTestApp('sockcap', { realtime: { maxSocketsPerUser: 2 } });
      const someone = await createTestUser(capped);
      const devices = [await connectDevice(capped.url(), someone.accessToken), await connectDevice(capped.url(), someone.accessToken)];
      try {
        const refused = await connectError(capped.url(), { token: someone.accessToken });
        expect(refused.message).to.equal('too_many_connections');
        expect((await connectDevice(capped.url(), (await createTestUser(capped)).accessToken)).socket.connected, 'another user is not affected').to.equal(true);
        devices.shift()!.close();
        await waitUntil('a slot freed', async () => {
          const err = await connectDevice(capped.url(), someone.accessToken).then((d) => (devices.push(d), undefined), (e: Error) => e);
          return err === undefined;
        }, 5_000);
      } finally {
        for (const d of devices) d.close();
        await capped.destroy();
      }
    });

    it('when the token is missing, garbage, forged, expired, for another audience or without exp or iat, then connect_error says unauthorized', async () => {
      const { secret, issuer, audience } = app.config.auth.jwt;
      const claims = { role: 'USER', sid: randomUUID(), iat_ms: Date.now() };
      const tokens = [
        undefined,
        'garbage',
        jwt.sign(claims, 'another-secret-another-secret-another', { subject: user.userId, issuer, audience, jwtid: 'x', expiresIn: 60 }),
        jwt.sign(claims, secret, { subject: user.userId, issuer, audience, jwtid: 'x', expiresIn: -60 }),
        jwt.sign(claims, secret, { subject: user.userId, issuer, audience: 'someone-else', jwtid: 'x', expiresIn: 60 }),
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, sub: user.userId, iss: issuer, aud: audience })).toString('base64url')}.`,
        // Correctly signed, but valid forever (no exp) or of unknown age (no iat).
        jwt.sign(claims, secret, { subject: user.userId, issuer, audience, jwtid: 'x' }),
        jwt.sign(claims, secret, { subject: user.userId, issuer, audience, jwtid: 'x', expiresIn: 60, noTimestamp: true }),
      ];
      for (const token of tokens) {
        const err = await connectError(app.url(), token === undefined ? {} : { token });
        expect(err.message, String(token)).to.equal('unauthorized');
      }
    });

    it('when an administrator blocks or deletes an account, then its tokens issued before are refused at connect; a USER opening /admin is forbidden', async () => {
      // No SQL on connect: the block and the deletion revoke the user's tokens, and the handshake
      // checks revocation, so a token of an account that is no longer ACTIVE cannot connect.
      const admin = await createTestUser(app, { role: 'ADMIN' });
      const blocked = await createTestUser(app);
      expect((await connectDevice(app.url(), blocked.accessToken)).socket.connected, 'active before the block').to.equal(true);
      await request(app.server).post(`/api/v1/admin/users/${blocked.userId}/block`).set(admin.auth).expect(200);
      expect((await connectError(app.url(), { token: blocked.accessToken })).message).to.equal('unauthorized');
      const deleted = await registerVerifyLogin(app, smtp);
      await request(app.server).post('/api/v1/users/me/delete').set('Authorization', `Bearer ${deleted.accessToken}`).send({ password: deleted.password }).expect(204);
      expect((await connectError(app.url(), { token: deleted.accessToken })).message).to.equal('unauthorized');
      expect((await connectError(app.url(), { token: user.accessToken }, { namespace: '/admin' })).message).to.equal('forbidden');
    });

    it('when a browser page from an origin not on the allowlist connects, then it is refused; an allowed origin connects', async () => {
      const refused = await connectError(app.url(), { token: user.accessToken }, { extraHeaders: { origin: 'https://evil.example' } });
      expect(refused.message).to.match(/websocket error|origin/i);
      const device = await connectDevice(app.url(), user.accessToken, { extraHeaders: { origin: 'https://app.example' } });
      device.close();
      // The API's own web app (/app/) is same-origin: always allowed, whatever the list says.
      const own = await connectDevice(app.url(), user.accessToken, { extraHeaders: { origin: new URL(app.url()).origin } });
      own.close();
      const lookalike = await connectError(app.url(), { token: user.accessToken }, { extraHeaders: { origin: `http://evil.example:${new URL(app.url()).port}` } });
      expect(lookalike.message).to.match(/websocket error|origin/i);
    });

    it('when a client insists on HTTP long-polling, then it is refused (websocket only unless polling is enabled)', async () => {
      const socket = io(app.url(), { transports: ['polling'], auth: { token: user.accessToken }, reconnection: false, forceNew: true });
      const outcome = await new Promise<string>((resolve) => {
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', () => resolve('refused'));
      });
      socket.disconnect();
      expect(outcome).to.equal('refused');
    });
  });

  describe('live analysis status', () => {
    it('when an entry is written, then every device of the user sees PROCESSING then COMPLETED, and the diary row and analysis agree', async () => {
      const user = await createTestUser(app);
      const phone = await connectDevice(app.url(), user.accessToken);
      const laptop = await connectDevice(app.url(), user.accessToken);
      try {
        const { body: diary } = await write(user, 'I failed the exam and I always ruin everything. I will never pass.');
        for (const device of [phone, laptop]) {
          await device.waitFor('COMPLETED', () => device.notifications.find((n) => n.payload.status === 'COMPLETED'));
          expect(device.notifications.map((n) => [n.type, n.payload.diaryId, n.payload.status])).to.deep.equal([
            ['analysis.status', diary.id, 'PROCESSING'],
            ['analysis.status', diary.id, 'COMPLETED'],
          ]);
        }
        const completed = phone.notifications[1]!;
        expect(completed.payload).to.have.nested.property('summary.emotionStatus', 'NEGATIVE');
        expect(completed.seq).to.be.greaterThan(phone.notifications[0]!.seq);
        const res = await request(app.server).get(`/api/v1/diaries/${diary.id}`).set(user.auth);
        expect(res.body).to.include({ analysisStatus: 'COMPLETED', emotionStatus: 'NEGATIVE', isNegative: true });
        expect(res.body.analysis.automaticThoughts.length).to.be.greaterThan(0);
        // Acked by the devices: nothing is left unacknowledged in the inbox.
        await waitUntil('acks recorded', async () => (await request(app.server).get('/api/v1/notifications?unacked=true').set(user.auth)).body.items.length === 0);
      } finally {
        phone.close();
        laptop.close();
      }
    });

    it('when another user writes, then this user sees nothing of it', async () => {
      const [alice, bob] = [await createTestUser(app), await createTestUser(app)];
      const bobsPhone = await connectDevice(app.url(), bob.accessToken);
      const alicesPhone = await connectDevice(app.url(), alice.accessToken);
      try {
        await write(alice, 'A lovely quiet morning.');
        await alicesPhone.waitFor('alice completed', () => alicesPhone.notifications.find((n) => n.payload.status === 'COMPLETED'));
        await new Promise((r) => setTimeout(r, 300));
        expect(bobsPhone.notifications).to.deep.equal([]);
      } finally {
        bobsPhone.close();
        alicesPhone.close();
      }
    });
  });

  describe('analysis commands over the socket', () => {
    type Answer = { error?: { code: string } } & Record<string, unknown>;
    const ask = (device: TestDevice, event: 'diary:get' | 'diary:reanalyze' | 'diary:subscribe' | 'diary:unsubscribe', body: unknown) =>
      device.socket.timeout(5_000).emitWithAck(event as 'diary:get', body as { diaryId: string }) as Promise<Answer>;

    it('when a device asks for one of its entries, then it gets its status and summary; another user\'s entry and bad payloads get REST\'s error codes', async () => {
      const user = await createTestUser(app);
      const other = await createTestUser(app);
      const { body: diary } = await write(user, 'A calm evening with a good book. I felt content.');
      const device = await connectDevice(app.url(), user.accessToken);
      try {
        await waitUntil('analysed', async () => (await ask(device, 'diary:get', { diaryId: diary.id })).analysisStatus === 'COMPLETED' || undefined, 20_000);
        const status = await ask(device, 'diary:get', { diaryId: diary.id });
        expect(status).to.include({ diaryId: diary.id, revision: 1, analysisStatus: 'COMPLETED', analyzedRevision: 1 });
        expect(status.emotionStatus).to.be.oneOf(['POSITIVE', 'NEGATIVE', 'NEUTRAL']);
        const { body: theirs } = await write(other, 'Not yours to read.');
        expect((await ask(device, 'diary:get', { diaryId: theirs.id })).error?.code).to.equal('not_found');
        expect((await ask(device, 'diary:reanalyze', { diaryId: theirs.id })).error?.code).to.equal('not_found');
        for (const garbage of [{ diaryId: 'abc' }, { diaryId: 1 }, {}, 'x', { diaryId: '1', extra: true }]) {
          expect((await ask(device, 'diary:get', garbage)).error?.code, JSON.stringify(garbage)).to.equal('invalid_payload');
        }
        expect(device.socket.connected).to.equal(true);
      } finally {
        device.close();
      }
    });

    it('when a device follows an entry and asks for its reanalysis over the socket, then it gets the progress, the completion with the stored status, and nothing once it stops following', async () => {
      const user = await createTestUser(app);
      const { body: diary } = await write(user, 'I snapped at my brother and now I feel guilty and anxious.');
      const device = await connectDevice(app.url(), user.accessToken);
      const progress: Array<{ status: string; revision: number; diary?: { analysisStatus: string } }> = [];
      device.socket.on('diary:progress', (p) => void progress.push(p));
      try {
        await waitUntil('first analysis', async () => (await ask(device, 'diary:get', { diaryId: diary.id })).analysisStatus === 'COMPLETED' || undefined, 20_000);
        const current = await ask(device, 'diary:subscribe', { diaryId: diary.id });
        expect(current.diaryId).to.equal(diary.id);
        const requested = await ask(device, 'diary:reanalyze', { diaryId: diary.id });
        expect(requested.error, JSON.stringify(requested)).to.equal(undefined);
        expect(requested.analysisStatus).to.equal('PENDING');
        await device.waitFor('the reanalysis completed', () => progress.some((p) => p.status === 'COMPLETED') || undefined, 20_000);
        expect(progress.map((p) => p.status)).to.deep.equal(['PROCESSING', 'COMPLETED']);
        expect(progress.at(-1)!.diary?.analysisStatus).to.equal('COMPLETED');

        expect(await ask(device, 'diary:unsubscribe', { diaryId: diary.id })).to.deep.equal({ ok: true });
        const statusesBefore = device.notifications.length;
        await ask(device, 'diary:reanalyze', { diaryId: diary.id });
        await device.waitFor('the second reanalysis delivered as analysis:status', () => device.notifications.filter((n) => n.payload.diaryId === diary.id && n.payload.status === 'COMPLETED').length >= 3 || undefined, 20_000);
        expect(device.notifications.length).to.be.greaterThan(statusesBefore);
        expect(progress.length, 'progress after unsubscribing').to.equal(2);
      } finally {
        device.close();
      }
    });
  });

  describe('durable inbox', () => {
    it('when a device was offline, then on reconnect it gets everything after its last seen sequence, in order', async () => {
      const user = await createTestUser(app);
      const device = await connectDevice(app.url(), user.accessToken);
      await write(user, 'first entry of the day');
      await device.waitFor('first entry done', () => device.notifications.filter((n) => n.payload.status === 'COMPLETED').length === 1, 30_000);
      const lastSeq = device.lastSeq();
      device.close();

      await write(user, 'second entry while offline');
      await write(user, 'third entry while offline');
      const inbox = async () => (await request(app.server).get('/api/v1/notifications').query({ afterSeq: lastSeq }).set(user.auth)).body.items;
      await waitUntil('offline notifications stored', async () => (await inbox()).length >= 4, 30_000);

      const back = await connectDevice(app.url(), user.accessToken, { lastSeq });
      try {
        await back.waitFor('replay', () => back.notifications.length >= 4);
        const seqs = back.notifications.map((n) => n.seq);
        expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
        expect(seqs.every((s) => s > lastSeq)).to.equal(true);
        expect(back.notifications.filter((n) => n.payload.status === 'COMPLETED')).to.have.length(2);
      } finally {
        back.close();
      }
    });

    it('when a device does not ack, then the notification is redelivered until it does; acked ones are not', async () => {
      const user = await createTestUser(app);
      const silent = await connectDevice(app.url(), user.accessToken, { ack: false });
      try {
        await write(user, 'please deliver this twice');
        await silent.waitFor('redelivery', () => silent.deliveries >= 4, 30_000);
        expect(silent.notifications.map((n) => n.payload.status)).to.deep.equal(['PROCESSING', 'COMPLETED']);
        const unacked = await request(app.server).get('/api/v1/notifications?unacked=true').set(user.auth);
        expect(unacked.body.items).to.have.length(2);

        const res = await silent.socket.timeout(2_000).emitWithAck('notifications:ack', { upToSeq: silent.lastSeq() });
        expect(res).to.deep.equal({ acked: 2 });
        const before = silent.deliveries;
        await new Promise((r) => setTimeout(r, 1_000));
        expect(silent.deliveries).to.equal(before);
        const after = await request(app.server).get('/api/v1/notifications?unacked=true').set(user.auth);
        expect(after.body.items).to.deep.equal([]);
      } finally {
        silent.close();
      }
    });
  });

  describe('tokens and sessions', () => {
    const shortToken = (user: TestUser, seconds: number, role: 'USER' | 'ADMIN' = 'USER') =>
      jwt.sign({ role, sid: user.sessionId, iat_ms: Date.now() }, app.config.auth.jwt.secret, {
        subject: user.userId,
        issuer: app.config.auth.jwt.issuer,
        audience: app.config.auth.jwt.audience,
        jwtid: randomUUID(),
        expiresIn: seconds,
      });

    it('when the token of a live socket expires, then the socket is told and disconnected', async () => {
      const user = await createTestUser(app);
      const device = await connectDevice(app.url(), shortToken(user, 2));
      const reason = await new Promise<string>((resolve) => device.socket.once('disconnect', resolve));
      expect(reason).to.equal('io server disconnect');
      expect(device.notices.map((n) => n.code)).to.deep.equal(['token_expired']);
    });

    it('when the client sends a fresh token with auth:refresh in time, then the socket stays connected', async () => {
      const user = await createTestUser(app);
      const device = await connectDevice(app.url(), shortToken(user, 2));
      try {
        const res = await device.socket.timeout(2_000).emitWithAck('auth:refresh', { token: shortToken(user, 60) });
        expect(res).to.have.property('ok', true);
        await new Promise((r) => setTimeout(r, 2_600));
        expect(device.socket.connected).to.equal(true);
        const foreign = await createTestUser(app);
        expect(await device.socket.timeout(2_000).emitWithAck('auth:refresh', { token: foreign.accessToken })).to.deep.include({ error: { code: 'token_mismatch', message: 'token belongs to another user' } });
      } finally {
        device.close();
      }
    });

    it('when an admin socket sends a fresh admin token with auth:refresh, then it stays in the activity room; a token without the role is refused', async () => {
      const adminUser = await createTestUser(app, { role: 'ADMIN' });
      const admin = await connectAdmin(app.url(), shortToken(adminUser, 2, 'ADMIN'));
      try {
        expect(await admin.socket.timeout(2_000).emitWithAck('auth:refresh', { token: shortToken(adminUser, 60, 'USER') })).to.deep.include({ error: { code: 'forbidden', message: 'token lacks the admin role' } });
        expect(await admin.socket.timeout(2_000).emitWithAck('auth:refresh', { token: shortToken(adminUser, 60, 'ADMIN') })).to.have.property('ok', true);
        await new Promise((r) => setTimeout(r, 2_600));
        expect(admin.socket.connected).to.equal(true);
      } finally {
        admin.close();
      }
    });

    it('when the user logs out everywhere, then their sockets are disconnected', async () => {
      const user = await registerVerifyLogin(app, smtp);
      const device = await connectDevice(app.url(), user.accessToken);
      const disconnected = new Promise<string>((resolve) => device.socket.once('disconnect', resolve));
      await request(app.server).post('/api/v1/auth/logout-all').set('Authorization', `Bearer ${user.accessToken}`).send({}).expect((r) => expect(r.status).to.be.oneOf([200, 204]));
      expect(await disconnected).to.equal('io server disconnect');
      expect(device.notices.map((n) => n.code)).to.include('session_revoked');
      expect((await connectError(app.url(), { token: user.accessToken })).message).to.equal('unauthorized');
    });
  });

  describe('limits and bad input', () => {
    let user: TestUser;
    before(async () => {
      user = await createTestUser(app);
    });

    it('when a payload is malformed, then the ack carries an error and the socket stays usable', async () => {
      const device = await connectDevice(app.url(), user.accessToken);
      try {
        for (const payload of [{ ids: 'nope' }, { upToSeq: -1 }, {}, 'text', null, { ids: ['a'], extra: true }]) {
          const res = (await device.socket.timeout(2_000).emitWithAck('notifications:ack', payload as never)) as { error?: { code: string } };
          expect(res.error?.code, JSON.stringify(payload)).to.equal('invalid_payload');
        }
        expect(await device.socket.timeout(2_000).emitWithAck('notifications:ack', { upToSeq: 0 })).to.deep.equal({ acked: 0 });
        expect(device.socket.connected).to.equal(true);
      } finally {
        device.close();
      }
    });

    it('when unknown events arrive, then they are ignored and counted', async () => {
      const device = await connectDevice(app.url(), user.accessToken);
      try {
        (device.socket as unknown as { emit(e: string, ...a: unknown[]): void }).emit('admin:delete-everything', { all: true });
        await new Promise((r) => setTimeout(r, 200));
        expect(device.socket.connected).to.equal(true);
        const metrics = await app.metrics.registry.getSingleMetricAsString('socketio_events_received_total');
        expect(metrics).to.match(/event="unknown",outcome="unknown"[^\n]*\} [1-9]/);
      } finally {
        device.close();
      }
    });

    it('when a socket floods events, then it is told why and disconnected; the server keeps serving others', async () => {
      const device = await connectDevice(app.url(), user.accessToken);
      const disconnected = new Promise<string>((resolve) => device.socket.once('disconnect', resolve));
      for (let i = 0; i < 50; i++) device.socket.emit('notifications:ack', { upToSeq: 0 }, () => undefined);
      expect(await disconnected).to.equal('io server disconnect');
      expect(device.notices.map((n) => n.code)).to.include('rate_limited');
      const other = await connectDevice(app.url(), user.accessToken);
      other.close();
    });

    it('when a payload exceeds the size cap, then that connection is closed and the server keeps serving', async () => {
      const device = await connectDevice(app.url(), user.accessToken);
      const disconnected = new Promise<string>((resolve) => device.socket.once('disconnect', resolve));
      device.socket.emit('notifications:ack', { ids: ['x'.repeat(10_000)] }, () => undefined);
      expect(await disconnected).to.match(/transport close|transport error/);
      expect((await request(app.server).get('/healthz')).status).to.equal(200);
    });
  });

  describe('admins and announcements', () => {
    it('when no admin watches the activity room, then activity costs no publish; once one watches, it is published', async () => {
      // The adapter's broadcasts to /admin, as Redis carries them between instances.
      const tap = createRedis(app.config, app.log, 'adapter-tap', { prefixed: false });
      let published = 0;
      try {
        const channel = `${app.config.redis.keyPrefix}socket.io#/admin#`;
        if (app.config.realtime.shardedPubSub) {
          // Sharded channels have no patterns: the namespace's channel and the activity room's own.
          await tap.ssubscribe(channel);
          await tap.ssubscribe(`${channel}activity#`);
          tap.on('smessage', () => published++);
        } else {
          await tap.psubscribe(`${channel}*`);
          tap.on('pmessage', () => published++);
        }
        const user = await createTestUser(app);
        await waitUntil('no admin socket left from earlier tests', async () => app.realtime.admin.sockets.size === 0 || undefined, 5_000);
        await write(user, 'nobody is watching');
        await new Promise((r) => setTimeout(r, 300));
        expect(published, 'publishes with nobody watching').to.equal(0);
        const adminUser = await createTestUser(app, { role: 'ADMIN' });
        const admin = await connectAdmin(app.url(), adminUser.accessToken);
        try {
          const { body: diary } = await write(user, 'now someone is');
          await admin.waitFor('the write', () => admin.activity.find((e) => e.type === 'diary.created' && e.diaryId === diary.id));
          // The local admin can see the event before Redis hands the publish to the tap.
          await waitUntil('the publish reaches Redis', async () => published > 0 || undefined, 2_000);
        } finally {
          admin.close();
        }
      } finally {
        tap.disconnect();
      }
    });

    it('when users act, then an admin in the activity room sees logins, writes and outcomes, and a snapshot counts sockets', async () => {
      const adminUser = await createTestUser(app, { role: 'ADMIN' });
      const admin = await connectAdmin(app.url(), adminUser.accessToken);
      const user = await createTestUser(app);
      const device = await connectDevice(app.url(), user.accessToken);
      try {
        const { body: diary } = await write(user, 'a calm day');
        await admin.waitFor('analysis outcome', () => admin.activity.find((e) => e.type === 'analysis.completed' && e.diaryId === diary.id));
        expect(admin.activity.find((e) => e.type === 'diary.created' && e.diaryId === diary.id)).to.include({ userId: user.userId, instanceId: app.config.app.instanceId });
        const snapshot = await admin.socket.timeout(5_000).emitWithAck('activity:snapshot', {});
        expect(snapshot).to.include({ partial: false });
        expect((snapshot as { totalSockets: number }).totalSockets).to.be.at.least(1);
        const overRest = await request(app.server).get('/api/v1/admin/activity').set(adminUser.auth);
        expect(overRest.status).to.equal(200);
        expect(overRest.body.partial).to.equal(false);
        expect(overRest.body.instances.map((i: { instanceId: string }) => i.instanceId)).to.include(app.config.app.instanceId);
        expect(overRest.body.totalSockets).to.be.at.least(1);
        expect((await request(app.server).get('/api/v1/admin/activity').set(user.auth)).status).to.equal(403);
      } finally {
        admin.close();
        device.close();
      }
    });

    it('when an admin announces, then connected users get it live, offline ones on connect, and each ack is counted once, live', async () => {
      const adminUser = await createTestUser(app, { role: 'ADMIN' });
      const admin = await connectAdmin(app.url(), adminUser.accessToken);
      const online = await createTestUser(app);
      const offline = await createTestUser(app);
      const device = await connectDevice(app.url(), online.accessToken);
      try {
        const created = await request(app.server).post('/api/v1/admin/announcements').set(adminUser.auth).send({ title: 'Maintenance', body: 'Tonight at 22:00' });
        expect(created.status).to.equal(201);
        const id = created.body.id as string;
        await device.waitFor('announcement', () => device.announcements.find((a) => a.id === id));
        await admin.waitFor('first ack counted', () => (admin.ackCounts.get(id) ?? 0) >= 1);

        const later = await connectDevice(app.url(), offline.accessToken);
        await later.waitFor('pending announcement on connect', () => later.announcements.find((a) => a.id === id));
        await admin.waitFor('second ack counted', () => admin.ackCounts.get(id) === 2);
        later.close();

        // Acking again (socket event and REST) does not count twice.
        expect(await device.socket.timeout(2_000).emitWithAck('announcements:ack', { id })).to.deep.equal({ ok: true });
        expect((await request(app.server).post(`/api/v1/announcements/${id}/ack`).set(online.auth)).body).to.deep.equal({ newlyAcked: false });
        const list = await request(app.server).get('/api/v1/admin/announcements').set(adminUser.auth);
        expect(list.body.items.find((a: { id: string }) => a.id === id).acks).to.be.at.least(2);
        const viaSocket = await admin.socket.timeout(5_000).emitWithAck('announcements:create', { title: 'Hello', body: 'From the admin room' });
        expect(viaSocket).to.have.property('title', 'Hello');
      } finally {
        admin.close();
        device.close();
      }
    });

    it('when a device does not ack an announcement, then it gets it again until it acks; a device that acked gets it once', async () => {
      const adminUser = await createTestUser(app, { role: 'ADMIN' });
      const silent = await connectDevice(app.url(), (await createTestUser(app)).accessToken, { ack: false });
      const polite = await connectDevice(app.url(), (await createTestUser(app)).accessToken);
      try {
        const created = await request(app.server).post('/api/v1/admin/announcements').set(adminUser.auth).send({ title: 'Redelivery', body: 'Until acked' });
        const id = created.body.id as string;
        await silent.waitFor('three deliveries without an ack', () => silent.announcements.filter((a) => a.id === id).length >= 3, 10_000);
        await polite.waitFor('one delivery', () => polite.announcements.some((a) => a.id === id));
        await new Promise((r) => setTimeout(r, 1_500));
        expect(polite.announcements.filter((a) => a.id === id)).to.have.length(1);
      } finally {
        silent.close();
        polite.close();
      }
    });

    it('when an announcement was stored but its broadcast never came (a blip), then connected devices still get it', async () => {
      const device = await connectDevice(app.url(), (await createTestUser(app)).accessToken);
      const mongo = await mongoose.createConnection(app.config.mongo.url).asPromise();
      try {
        // Written straight to the store: no instance was told, as when serverSideEmit is lost.
        const { insertedId } = await mongo.collection('announcements').insertOne({ title: 'Lost broadcast', body: 'Found in the store', createdBy: '1', createdAt: new Date(), expiresAt: null });
        await device.waitFor('announcement found by the catch-up', () => device.announcements.some((a) => a.id === insertedId.toHexString()), 10_000);
      } finally {
        device.close();
        await mongo.close();
      }
    });
  });
});
