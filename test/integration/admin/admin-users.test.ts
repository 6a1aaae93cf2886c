import { expect } from 'chai';
import request from 'supertest';
import { bearer, login, newAccount, promoteToAdmin, registerVerifyLogin, type TestUser } from '../../harness/auth-flows.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

describe('admin: users', () => {
  let smtp: SmtpCapture;
  let app: TestApp;
  let admin: TestUser;
  let users: TestUser[];

  before(async () => {
    smtp = await startSmtpCapture();
    app = await startTestApp('adminusers', smtp.configOverrides());
    admin = await promoteToAdmin(app, await registerVerifyLogin(app, smtp, { username: `boss_${Date.now()}` }));
    users = [];
    for (let i = 0; i < 4; i++) users.push(await registerVerifyLogin(app, smtp, { username: `member${i}_${Date.now()}` }));
  });
  after(async () => {
    await app.destroy();
    await smtp.stop();
  });

  const asAdmin = (req: request.Test) => req.set('Authorization', bearer(admin.accessToken));
  const me = (token: string) => request(app.server).get('/api/v1/users/me').set('Authorization', bearer(token));

  it('when listing with a small page size, then cursors walk every user once, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await asAdmin(request(app.server).get('/api/v1/admin/users').query({ limit: 2, ...(cursor ? { cursor } : {}) }));
      expect(res.status).to.equal(200);
      expect(res.body.items.length).to.be.at.most(2);
      seen.push(...res.body.items.map((u: { id: string }) => u.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).to.have.length(5);
    expect(new Set(seen).size).to.equal(5);
    expect([...seen].sort((a, b) => Number(b) - Number(a))).to.deep.equal(seen);
  });

  it('when filtering by status, role, premium and prefix, then only matching users come back', async () => {
    const pending = newAccount();
    await request(app.server).post('/api/v1/auth/register').send(pending);
    const waiting = await asAdmin(request(app.server).get('/api/v1/admin/users').query({ status: 'WAITING' }));
    expect(waiting.body.items.map((u: { email: string }) => u.email)).to.deep.equal([pending.email]);
    const admins = await asAdmin(request(app.server).get('/api/v1/admin/users').query({ role: 'ADMIN' }));
    expect(admins.body.items.map((u: { id: string }) => u.id)).to.deep.equal([admin.userId]);
    const prefix = await asAdmin(request(app.server).get('/api/v1/admin/users').query({ q: 'member2_' }));
    expect(prefix.body.items.map((u: { id: string }) => u.id)).to.deep.equal([users[2]!.userId]);
    const premium = await asAdmin(request(app.server).get('/api/v1/admin/users').query({ isPremium: 'true' }));
    expect(premium.body.items).to.deep.equal([]);
  });

  it('when the query is malformed, then 400 with the field', async () => {
    for (const query of [{ limit: 0 }, { limit: 101 }, { cursor: 'bm90LWEtY3Vyc29y' }, { status: 'GONE' }, { isPremium: 'yes' }, { sort: 'email' }]) {
      const res = await asAdmin(request(app.server).get('/api/v1/admin/users').query(query));
      expect(res.status, JSON.stringify(query)).to.equal(400);
    }
  });

  it('when a USER calls any admin route, then 403', async () => {
    const user = users[0]!;
    const calls = [
      request(app.server).get('/api/v1/admin/users'),
      request(app.server).get(`/api/v1/admin/users/${user.userId}`),
      request(app.server).post(`/api/v1/admin/users/${admin.userId}/block`),
      request(app.server).put(`/api/v1/admin/users/${user.userId}/role`).send({ role: 'ADMIN' }),
      request(app.server).put(`/api/v1/admin/users/${user.userId}/premium`).send({ isPremium: true }),
    ];
    for (const call of calls) expect((await call.set('Authorization', bearer(user.accessToken))).status).to.equal(403);
  });

  it('when a user is blocked, then their tokens stop working at once and login is refused; unblocking lets them back in', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const blocked = await asAdmin(request(app.server).post(`/api/v1/admin/users/${user.userId}/block`));
    expect(blocked.status).to.equal(200);
    expect(blocked.body.status).to.equal('BLOCKED');
    expect((await me(user.accessToken)).status).to.equal(401);
    expect((await request(app.server).post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken })).status).to.equal(401);
    const refused = await request(app.server).post('/api/v1/auth/login').send({ identifier: user.email, password: user.password });
    expect(refused.status).to.equal(403);
    expect(refused.body.code).to.equal('account_blocked');

    expect((await asAdmin(request(app.server).post(`/api/v1/admin/users/${user.userId}/unblock`))).body.status).to.equal('ACTIVE');
    expect((await me((await login(app, user.email, user.password)).accessToken)).status).to.equal(200);
  });

  it('when an admin tries to block or demote themselves, or targets a missing user, then 409 / 404', async () => {
    expect((await asAdmin(request(app.server).post(`/api/v1/admin/users/${admin.userId}/block`))).status).to.equal(409);
    expect((await asAdmin(request(app.server).put(`/api/v1/admin/users/${admin.userId}/role`).send({ role: 'USER' }))).status).to.equal(409);
    expect((await asAdmin(request(app.server).post('/api/v1/admin/users/999999999/block'))).status).to.equal(404);
    expect((await asAdmin(request(app.server).get('/api/v1/admin/users/abc'))).status).to.equal(400);
  });

  it('when a role changes, then the old access token is revoked and the refreshed one carries the new role', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const promoted = await asAdmin(request(app.server).put(`/api/v1/admin/users/${user.userId}/role`).send({ role: 'ADMIN' }));
    expect(promoted.body.role).to.equal('ADMIN');
    expect((await me(user.accessToken)).status).to.equal(401);
    const refreshed = await request(app.server).post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken });
    expect(refreshed.status).to.equal(200);
    expect((await request(app.server).get('/api/v1/admin/users').set('Authorization', bearer(refreshed.body.accessToken))).status).to.equal(200);

    await asAdmin(request(app.server).put(`/api/v1/admin/users/${user.userId}/role`).send({ role: 'USER' }));
    expect((await request(app.server).get('/api/v1/admin/users').set('Authorization', bearer(refreshed.body.accessToken))).status).to.equal(401);
  });

  it('when premium is granted, then the (cached) profile shows it at once', async () => {
    const user = users[1]!;
    expect((await me(user.accessToken)).body.isPremium).to.equal(false);
    const res = await asAdmin(request(app.server).put(`/api/v1/admin/users/${user.userId}/premium`).send({ isPremium: true }));
    expect(res.body.isPremium).to.equal(true);
    expect((await me(user.accessToken)).body.isPremium).to.equal(true);
    expect((await asAdmin(request(app.server).put(`/api/v1/admin/users/${user.userId}/premium`).send({ isPremium: 'yes' }))).status).to.equal(400);
  });

  it('when an admin emails a member, then the message reaches their verified address; bad requests send nothing', async () => {
    const member = users[3]!;
    const sent = await asAdmin(request(app.server).post(`/api/v1/admin/users/${member.userId}/email`)).send({ subject: 'About your account', text: 'Hello from the team.\nSee you soon.' });
    expect(sent.status).to.equal(202);
    expect(sent.body).to.deep.equal({ sent: true });
    const mail = await smtp.take(member.email, /About your account/);
    expect(mail.text).to.include('Hello from the team.');

    const headerInjection = await asAdmin(request(app.server).post(`/api/v1/admin/users/${member.userId}/email`)).send({ subject: 'Hi\r\nBcc: everyone@example.test', text: 'x' });
    expect(headerInjection.status).to.equal(400);
    expect((await asAdmin(request(app.server).post('/api/v1/admin/users/999999999/email')).send({ subject: 'Hi', text: 'x' })).status).to.equal(404);
    const asMember = await request(app.server).post(`/api/v1/admin/users/${member.userId}/email`).set('Authorization', bearer(member.accessToken)).send({ subject: 'Hi', text: 'x' });
    expect(asMember.status).to.equal(403);
    await app.sql.User.update({ emailVerifiedAt: null }, { where: { id: member.userId } });
    const unverified = await asAdmin(request(app.server).post(`/api/v1/admin/users/${member.userId}/email`)).send({ subject: 'Unverified', text: 'x' });
    expect(unverified.status).to.equal(409);
    expect(unverified.body.code).to.equal('no_verified_email');
    expect(await smtp.receivesWithin(member.email, 300, /Hi|Unverified/)).to.equal(false);
  });
});
