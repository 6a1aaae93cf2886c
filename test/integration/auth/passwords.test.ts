import { expect } from 'chai';
import request from 'supertest';
import { bearer, login, newAccount, registerVerifyLogin } from '../../harness/auth-flows.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

describe('auth: password policy, reset and change', () => {
  let smtp: SmtpCapture;
  let app: TestApp;

  before(async () => {
    smtp = await startSmtpCapture();
    app = await startTestApp('passwords', smtp.configOverrides());
  });
  after(async () => {
    await app.destroy();
    await smtp.stop();
  });

  const me = (token: string) => request(app.server).get('/api/v1/users/me').set('Authorization', bearer(token));

  it('when a sign-up password breaks the policy, then 400 on body.password with the reason', async () => {
    const cases: Array<[Partial<ReturnType<typeof newAccount>>, RegExp]> = [
      [{ password: 'Short-1' }, /at least 10/],
      [{ password: 'x'.repeat(129) }, /at most 128/],
      [{ password: 'Password1234' }, /too common/],
      [{ password: '1234567890' }, /too common/],
      [{ username: 'Quiet_River_2024', password: 'quiet_river_2024' }, /email address or username/],
      [{ email: 'quiet.river.2024@example.test', password: 'QUIET.RIVER.2024@EXAMPLE.TEST' }, /email address or username/],
    ];
    for (const [overrides, reason] of cases) {
      const res = await request(app.server).post('/api/v1/auth/register').send(newAccount(overrides));
      expect(res.status, JSON.stringify(overrides)).to.equal(400);
      expect(res.body.errors[0].path).to.equal('body.password');
      expect(res.body.errors[0].message).to.match(reason);
    }
  });

  it('when a password is 10 characters of emoji or 128 characters long, then it is accepted (code points are counted)', async () => {
    expect((await request(app.server).post('/api/v1/auth/register').send(newAccount({ password: '🌧️🌈🌧️🌈🌧️🌈🌧️' }))).status).to.equal(201);
    expect((await request(app.server).post('/api/v1/auth/register').send(newAccount({ password: 'a1-'.repeat(42) + 'zz' }))).status).to.equal(201);
  });

  it('when the email or username is taken, then 409 naming which', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const email = await request(app.server).post('/api/v1/auth/register').send(newAccount({ email: user.email.toUpperCase() }));
    expect(email.status).to.equal(409);
    expect(email.body.code).to.equal('email_taken');
    const name = await request(app.server).post('/api/v1/auth/register').send(newAccount({ username: user.username.toUpperCase() }));
    expect(name.status).to.equal(409);
    expect(name.body.code).to.equal('username_taken');
  });

  it('when a password is reset with the mailed code, then the old password and every session stop working, and the code is single-use', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const other = await login(app, user.email, user.password);
    expect((await request(app.server).post('/api/v1/auth/password/forgot').send({ email: user.email })).status).to.equal(202);
    const code = await smtp.takeCode(user.email, /reset/i);

    const weak = await request(app.server).post('/api/v1/auth/password/reset').send({ email: user.email, code, newPassword: 'qwertyuiop' });
    expect(weak.status).to.equal(400);
    const wrong = await request(app.server).post('/api/v1/auth/password/reset').send({ email: user.email, code: code === '111111' ? '222222' : '111111', newPassword: 'A-brand-new-passphrase' });
    expect(wrong.status).to.equal(400);
    expect(wrong.body.code).to.equal('invalid_code');

    const ok = await request(app.server).post('/api/v1/auth/password/reset').send({ email: user.email, code, newPassword: 'A-brand-new-passphrase' });
    expect(ok.status).to.equal(204);
    for (const token of [user.accessToken, other.accessToken]) expect((await me(token)).status).to.equal(401);
    expect((await request(app.server).post('/api/v1/auth/refresh').send({ refreshToken: other.refreshToken })).status).to.equal(401);
    expect((await request(app.server).post('/api/v1/auth/login').send({ identifier: user.email, password: user.password })).status).to.equal(401);
    await login(app, user.email, 'A-brand-new-passphrase');

    const reused = await request(app.server).post('/api/v1/auth/password/reset').send({ email: user.email, code, newPassword: 'Another-new-passphrase' });
    expect(reused.status).to.equal(400);
  });

  it('when the password is changed, then the current password is required, other sessions end, and this session continues with a new pair', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const other = await login(app, user.email, user.password);

    const wrong = await request(app.server).post('/api/v1/users/me/password').set('Authorization', bearer(user.accessToken)).send({ currentPassword: 'Not-my-password-1', newPassword: 'Fresh-passphrase-77' });
    expect(wrong.status).to.equal(403);
    expect(wrong.body.code).to.equal('invalid_password');
    const same = await request(app.server).post('/api/v1/users/me/password').set('Authorization', bearer(user.accessToken)).send({ currentPassword: user.password, newPassword: user.password });
    expect(same.status).to.equal(400);

    const res = await request(app.server).post('/api/v1/users/me/password').set('Authorization', bearer(user.accessToken)).send({ currentPassword: user.password, newPassword: 'Fresh-passphrase-77' });
    expect(res.status).to.equal(200);
    expect(res.body.sessionId).to.equal(user.sessionId);

    // This session: the new pair works, the old access token does not (it predates the revocation).
    expect((await me(res.body.accessToken)).status).to.equal(200);
    expect((await me(user.accessToken)).status).to.equal(401);
    expect((await request(app.server).post('/api/v1/auth/refresh').send({ refreshToken: res.body.refreshToken })).status).to.equal(200);
    // The other session is over.
    expect((await me(other.accessToken)).status).to.equal(401);
    expect((await request(app.server).post('/api/v1/auth/refresh').send({ refreshToken: other.refreshToken })).status).to.equal(401);
    // Old password out, new one in.
    expect((await request(app.server).post('/api/v1/auth/login').send({ identifier: user.username, password: user.password })).status).to.equal(401);
    await login(app, user.username, 'Fresh-passphrase-77');
  });

  it('when an unverified sign-up is abandoned past the code lifetime, then its email can be registered again', async () => {
    const account = newAccount();
    expect((await request(app.server).post('/api/v1/auth/register').send(account)).status).to.equal(201);
    expect((await request(app.server).post('/api/v1/auth/register').send(newAccount({ email: account.email }))).status).to.equal(409);
    await app.sql.User.update({ createdAt: new Date(Date.now() - 3_600_000) }, { where: { email: account.email }, silent: true });
    expect((await request(app.server).post('/api/v1/auth/register').send(newAccount({ email: account.email }))).status).to.equal(201);
  });
});
