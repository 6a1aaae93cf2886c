import { expect } from 'chai';
import request from 'supertest';
import { bearer, login, registerVerifyLogin } from '../../harness/auth-flows.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

describe('users/me: profile, cache, account deletion', () => {
  let smtp: SmtpCapture;
  let app: TestApp;

  before(async () => {
    smtp = await startSmtpCapture();
    app = await startTestApp('usersme', smtp.configOverrides());
  });
  after(async () => {
    await app.destroy();
    await smtp.stop();
  });

  const profileKey = (userId: string) => `profile:${userId}`;

  it('when the profile is read, then it is cached in Redis, and a patch invalidates it so the next read shows the change', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const auth = { Authorization: bearer(user.accessToken) };
    const first = await request(app.server).get('/api/v1/users/me').set(auth);
    expect(first.body.nickname).to.equal(user.nickname);
    expect(await app.clients.redis.ttl(profileKey(user.userId))).to.be.greaterThan(0);

    const patched = await request(app.server).patch('/api/v1/users/me').set(auth).send({ nickname: '  Morning Pages  ', profileImageUrl: 'http://img.example.test/a.jpg' });
    expect(patched.status).to.equal(200);
    expect(patched.body).to.include({ nickname: 'Morning Pages', profileImageUrl: 'http://img.example.test/a.jpg' });
    const again = await request(app.server).get('/api/v1/users/me').set(auth);
    expect(again.body.nickname).to.equal('Morning Pages');
  });

  it('when the row changes behind the service’s back, then the cached profile is served until its key is dropped (reads really come from the cache)', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const auth = { Authorization: bearer(user.accessToken) };
    await request(app.server).get('/api/v1/users/me').set(auth);
    await app.sql.User.update({ nickname: 'Changed Underneath' }, { where: { id: user.userId } });
    expect((await request(app.server).get('/api/v1/users/me').set(auth)).body.nickname).to.equal(user.nickname);
    await app.clients.redis.del(profileKey(user.userId));
    expect((await request(app.server).get('/api/v1/users/me').set(auth)).body.nickname).to.equal('Changed Underneath');
  });

  it('when the account is deleted with the wrong or no password, then it stays', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const auth = { Authorization: bearer(user.accessToken) };
    const none = await request(app.server).post('/api/v1/users/me/delete').set(auth).send({});
    expect(none.status).to.equal(400);
    expect(none.body.errors[0].path).to.equal('body.password');
    const wrong = await request(app.server).post('/api/v1/users/me/delete').set(auth).send({ password: 'Not-my-password-1' });
    expect(wrong.status).to.equal(403);
    expect((await request(app.server).get('/api/v1/users/me').set(auth)).status).to.equal(200);
  });

  it('when the account is deleted with its password, then its rows cascade, every session ends, and the email is free again', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const other = await login(app, user.email, user.password);
    const auth = { Authorization: bearer(user.accessToken) };
    await app.sql.Diary.create({ userId: user.userId, title: 'mine', content: 'a day' });
    await request(app.server).get('/api/v1/users/me').set(auth);

    expect((await request(app.server).post('/api/v1/users/me/delete').set(auth).send({ password: user.password })).status).to.equal(204);

    expect(await app.sql.User.count({ where: { id: user.userId } })).to.equal(0);
    expect(await app.sql.Diary.count({ where: { userId: user.userId } })).to.equal(0);
    expect(await app.clients.redis.exists(profileKey(user.userId))).to.equal(0);
    for (const token of [user.accessToken, other.accessToken]) expect((await request(app.server).get('/api/v1/users/me').set('Authorization', bearer(token))).status).to.equal(401);
    expect((await request(app.server).post('/api/v1/auth/refresh').send({ refreshToken: other.refreshToken })).status).to.equal(401);
    expect((await request(app.server).post('/api/v1/auth/login').send({ identifier: user.email, password: user.password })).status).to.equal(401);
    const again = await registerVerifyLogin(app, smtp, { email: user.email, username: user.username });
    expect(again.userId).not.to.equal(user.userId);
  });
});
