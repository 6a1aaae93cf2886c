import { expect } from 'chai';
import request from 'supertest';
import { bearer, login, newAccount, registerVerifyLogin } from '../../harness/auth-flows.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

describe('auth: sign-up, verification, login', () => {
  let smtp: SmtpCapture;
  let app: TestApp;

  before(async () => {
    smtp = await startSmtpCapture();
    app = await startTestApp('authlocal', smtp.configOverrides());
  });
  after(async () => {
    await app.destroy();
    await smtp.stop();
  });

  it('when a person registers, verifies with the mailed code and logs in, then /users/me shows an ACTIVE account', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const me = await request(app.server).get('/api/v1/users/me').set('Authorization', bearer(user.accessToken));
    expect(me.status).to.equal(200);
    expect(me.body).to.include({ id: user.userId, email: user.email, username: user.username, status: 'ACTIVE', role: 'USER', hasPassword: true, emailVerified: true });
  });

  it('when a WAITING account logs in with the right password, then 403 email_not_verified; with a wrong one, the usual 401', async () => {
    const account = newAccount();
    expect((await request(app.server).post('/api/v1/auth/register').send(account)).status).to.equal(201);
    const right = await request(app.server).post('/api/v1/auth/login').send({ identifier: account.email, password: account.password });
    expect(right.status).to.equal(403);
    expect(right.body.code).to.equal('email_not_verified');
    const wrong = await request(app.server).post('/api/v1/auth/login').send({ identifier: account.email, password: 'not-the-password-123' });
    expect(wrong.status).to.equal(401);
    expect(wrong.body.code).to.equal('invalid_credentials');
    await smtp.take(account.email);
  });

  it('when logging in by username, then tokens are issued too', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const tokens = await login(app, user.username, user.password);
    expect(tokens.tokenType).to.equal('Bearer');
  });
});
