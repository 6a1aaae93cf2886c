import { expect } from 'chai';
import request from 'supertest';
import { registerVerifyLogin, type TestUser } from '../../harness/auth-flows.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

/** Everything but the per-response error id, which is unique by design. */
const comparable = (res: request.Response) => {
  const { errorId: _errorId, ...body } = res.body as Record<string, unknown>;
  return { status: res.status, contentType: res.headers['content-type'], retryAfter: res.headers['retry-after'], body };
};

describe('auth: answers do not tell whether an account exists', () => {
  let smtp: SmtpCapture;
  let app: TestApp;
  let user: TestUser;

  before(async () => {
    smtp = await startSmtpCapture();
    app = await startTestApp('enum', { ...smtp.configOverrides(), auth: { rateLimits: { loginFailuresPerAccount: 3 } } });
    user = await registerVerifyLogin(app, smtp);
  });
  after(async () => {
    await app.destroy();
    await smtp.stop();
  });

  it('when the password is wrong for an existing account or the account does not exist, then status and body are the same', async () => {
    const existing = await request(app.server).post('/api/v1/auth/login').send({ identifier: user.email, password: 'Wrong-password-123' });
    const missing = await request(app.server).post('/api/v1/auth/login').send({ identifier: 'nobody-here@example.test', password: 'Wrong-password-123' });
    expect(existing.status).to.equal(401);
    expect(comparable(existing)).to.deep.equal(comparable(missing));
    const byName = await request(app.server).post('/api/v1/auth/login').send({ identifier: user.username, password: 'Wrong-password-123' });
    const missingName = await request(app.server).post('/api/v1/auth/login').send({ identifier: 'nobody_here', password: 'Wrong-password-123' });
    expect(comparable(byName)).to.deep.equal(comparable(missingName));
  });

  it('when failures pile up, then the lockout arrives after the same number of attempts for existing and missing accounts', async () => {
    const attempt = (identifier: string) => request(app.server).post('/api/v1/auth/login').send({ identifier, password: 'Wrong-password-123' });
    const other = await registerVerifyLogin(app, smtp);
    const seen: { existing: number[]; missing: number[] } = { existing: [], missing: [] };
    for (let i = 0; i < 4; i++) {
      seen.existing.push((await attempt(other.email)).status);
      seen.missing.push((await attempt('also-nobody@example.test')).status);
    }
    expect(seen.existing).to.deep.equal([401, 401, 401, 429]);
    expect(seen.missing).to.deep.equal(seen.existing);
  });

  it('when a password reset is requested for an existing or a missing account, then status and body are the same, and only the real one gets mail', async () => {
    const existing = await request(app.server).post('/api/v1/auth/password/forgot').send({ email: user.email });
    const missing = await request(app.server).post('/api/v1/auth/password/forgot').send({ email: 'nobody-here@example.test' });
    expect(existing.status).to.equal(202);
    expect(comparable(existing)).to.deep.equal(comparable(missing));
    expect(await smtp.receivesWithin(user.email, 3_000, /reset/i)).to.equal(true);
    expect(await smtp.receivesWithin('nobody-here@example.test', 300)).to.equal(false);
  });

  it('when a password reset carries a wrong code, then the answer is the same whether or not the new password is the account’s username', async () => {
    const owner = await registerVerifyLogin(app, smtp);
    await request(app.server).post('/api/v1/auth/password/forgot').send({ email: owner.email }).expect(202);
    const code = await smtp.takeCode(owner.email, /reset/i);
    const reset = (newPassword: string, withCode: string) => request(app.server).post('/api/v1/auth/password/reset').send({ email: owner.email, code: withCode, newPassword });
    const wrongCode = code === '000000' ? '000001' : '000000';

    const rightGuess = await reset(owner.username, wrongCode);
    const wrongGuess = await reset(`${owner.username}-not-it`, wrongCode);
    expect(rightGuess.body.code).to.equal('invalid_code');
    expect(comparable(rightGuess)).to.deep.equal(comparable(wrongGuess));

    // With the right code the account's own rules apply, and refusing the password leaves the code usable.
    const refused = await reset(owner.username, code);
    expect(refused.status).to.equal(400);
    expect(refused.body.errors).to.deep.equal([{ path: 'body.newPassword', message: 'must not be your email address or username' }]);
    expect((await reset('A-brand-new-passphrase', code)).status).to.equal(204);
  });

  it('when a verification code is resent for an active or a missing account, then the answer is the same', async () => {
    await new Promise((r) => setTimeout(r, 1_100)); // past the resend cooldown that sign-up started
    const active = await request(app.server).post('/api/v1/auth/resend-code').send({ email: user.email });
    const missing = await request(app.server).post('/api/v1/auth/resend-code').send({ email: 'nobody-else@example.test' });
    expect(comparable(active)).to.deep.equal(comparable(missing));
    expect(active.status).to.equal(202);
  });

  it('when a wrong verification code is given for a missing account or a pending one, then the answer is the same', async () => {
    const pending = { email: 'pending-person@example.test', username: 'pending_person', password: 'Quiet-river-of-stones', nickname: 'P' };
    expect((await request(app.server).post('/api/v1/auth/register').send(pending)).status).to.equal(201);
    await smtp.take(pending.email);
    const real = await request(app.server).post('/api/v1/auth/verify-email').send({ email: pending.email, code: '000000' });
    const fake = await request(app.server).post('/api/v1/auth/verify-email').send({ email: 'nobody-pending@example.test', code: '000000' });
    expect(real.status).to.equal(400);
    expect(comparable(real)).to.deep.equal(comparable(fake));
  });
});
