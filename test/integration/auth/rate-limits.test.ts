import { expect } from 'chai';
import request from 'supertest';
import { newAccount, registerVerifyLogin, type TestUser } from '../../harness/auth-flows.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('auth: brute-force limits and lockouts (Redis)', () => {
  let smtp: SmtpCapture;
  let app: TestApp;
  let owner: TestUser;

  before(async () => {
    smtp = await startSmtpCapture();
    app = await startTestApp('ratelimit', {
      ...smtp.configOverrides(),
      // X-Forwarded-For picks the client IP, so one test can play several clients.
      http: { trustProxy: true },
      auth: {
        codes: { maxAttempts: 3, resendCooldownSec: 1 },
        rateLimits: {
          loginFailuresPerAccount: 3,
          loginFailuresPerIp: 6,
          loginFailuresPerAccountUnknownIps: 5,
          loginWindowSec: 2,
          registerPerIp: 3,
          resetPerIp: 2,
          codeAttemptsPerIp: 1000,
          ipWindowSec: 60,
        },
      },
    });
    owner = await registerVerifyLogin(app, smtp);
  });
  after(async () => {
    await app.destroy();
    await smtp.stop();
  });

  const loginFrom = (ip: string, identifier: string, password: string) =>
    request(app.server).post('/api/v1/auth/login').set('X-Forwarded-For', ip).send({ identifier, password });

  it('when one IP fails an account’s password too often, then that IP is locked out of it (429 + Retry-After) until the window ends, while the owner elsewhere still logs in', async () => {
    const user = await registerVerifyLogin(app, smtp);
    for (let i = 0; i < 3; i++) expect((await loginFrom('10.0.0.1', user.email, 'Wrong-password-1')).status).to.equal(401);
    const locked = await loginFrom('10.0.0.1', user.email, user.password);
    expect(locked.status).to.equal(429);
    expect(Number(locked.headers['retry-after'])).to.be.within(1, 2);
    expect(locked.body).to.include({ code: 'rate_limited', status: 429 });
    expect((await loginFrom('10.0.0.2', user.email, user.password)).status).to.equal(200);

    await sleep(2_100);
    expect((await loginFrom('10.0.0.1', user.email, user.password)).status).to.equal(200);
  });

  it('when one IP sprays many accounts, then the IP is locked out of login', async () => {
    for (let i = 0; i < 6; i++) expect((await loginFrom('10.0.1.1', `nobody${i}@example.test`, 'Wrong-password-1')).status).to.equal(401);
    const res = await loginFrom('10.0.1.1', owner.email, owner.password);
    expect(res.status).to.equal(429);
    expect(res.headers['retry-after']).to.match(/^\d+$/);
    await sleep(2_100);
  });

  it('when many IPs guess one account, then unknown IPs are locked out of it, but the owner’s known IP is not', async () => {
    const user = await registerVerifyLogin(app, smtp, {});
    expect((await loginFrom('10.0.2.100', user.email, user.password)).status).to.equal(200); // a known IP now
    for (let i = 1; i <= 5; i++) expect((await loginFrom(`10.0.3.${i}`, user.email, 'Wrong-password-1')).status).to.equal(401);
    expect((await loginFrom('10.0.3.99', user.email, user.password)).status).to.equal(429);
    expect((await loginFrom('10.0.2.100', user.email, user.password)).status).to.equal(200);
    await sleep(2_100);
    expect((await loginFrom('10.0.3.99', user.email, user.password)).status).to.equal(200);
  });

  it('when one IP registers too often, then 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await request(app.server).post('/api/v1/auth/register').set('X-Forwarded-For', '10.0.4.1').send(newAccount())).status);
    expect(statuses).to.deep.equal([201, 201, 201, 429]);
  });

  it('when a verification code is guessed wrong too often, then it is burned, and only a new code verifies', async () => {
    const account = newAccount();
    expect((await request(app.server).post('/api/v1/auth/register').set('X-Forwarded-For', '10.0.5.1').send(account)).status).to.equal(201);
    const code = await smtp.takeCode(account.email);
    const wrong = code === '000000' ? '000001' : '000000';
    for (let i = 0; i < 3; i++) expect((await request(app.server).post('/api/v1/auth/verify-email').send({ email: account.email, code: wrong })).status).to.equal(400);
    const burned = await request(app.server).post('/api/v1/auth/verify-email').send({ email: account.email, code });
    expect(burned.status).to.equal(400);
    expect(burned.body.code).to.equal('invalid_code');

    await sleep(1_100);
    expect((await request(app.server).post('/api/v1/auth/resend-code').send({ email: account.email })).status).to.equal(202);
    const again = await request(app.server).post('/api/v1/auth/resend-code').send({ email: account.email });
    expect(again.status).to.equal(429);
    expect(again.headers['retry-after']).to.equal('1');
    const fresh = await smtp.takeCode(account.email);
    expect((await request(app.server).post('/api/v1/auth/verify-email').send({ email: account.email, code: fresh })).status).to.equal(200);
    // A used code cannot be used again.
    expect((await request(app.server).post('/api/v1/auth/verify-email').send({ email: account.email, code: fresh })).status).to.equal(400);
  });

  it('when one IP asks for password resets too often, then 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(app.server).post('/api/v1/auth/password/forgot').set('X-Forwarded-For', '10.0.6.1').send({ email: `x${i}@example.test` })).status);
    expect(statuses).to.deep.equal([202, 202, 429]);
  });

  it('when counters are written, then they live in Redis with a TTL (no key without expiry)', async () => {
    const keys = await app.clients.redis.keys(`${app.config.redis.keyPrefix}rl:*`);
    expect(keys.length).to.be.greaterThan(0);
    for (const key of keys) expect(await app.clients.redis.pttl(key.slice(app.config.redis.keyPrefix.length))).to.be.greaterThan(0);
  });
});
