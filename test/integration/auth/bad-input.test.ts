import { expect } from 'chai';
import request from 'supertest';
import { bearer, newAccount, registerVerifyLogin, type TestUser } from '../../harness/auth-flows.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

describe('auth and users: malformed input is refused with problem+json, never a 500', () => {
  let smtp: SmtpCapture;
  let app: TestApp;
  let user: TestUser;

  before(async () => {
    smtp = await startSmtpCapture();
    app = await startTestApp('badinput', { ...smtp.configOverrides(), http: { bodyLimitKb: 16 } });
    user = await registerVerifyLogin(app, smtp);
  });
  after(async () => {
    await app.destroy();
    await smtp.stop();
  });

  const publicPosts = ['/auth/register', '/auth/verify-email', '/auth/resend-code', '/auth/login', '/auth/refresh', '/auth/password/forgot', '/auth/password/reset', '/auth/oauth/exchange'];

  it('when a body is not valid JSON, then 400 malformed_request on every auth route', async () => {
    for (const path of publicPosts) {
      const res = await request(app.server).post(`/api/v1${path}`).set('Content-Type', 'application/json').send('{"email": "a@b.c",');
      expect(res.status, path).to.equal(400);
      expect(res.body.code, path).to.equal('malformed_request');
    }
  });

  it('when a body is not JSON at all, then 415', async () => {
    const res = await request(app.server).post('/api/v1/auth/login').set('Content-Type', 'text/plain').send('identifier=a&password=b');
    expect(res.status).to.equal(415);
  });

  it('when a body is too large, then 413', async () => {
    const res = await request(app.server).post('/api/v1/auth/login').send({ identifier: 'x', password: 'p'.repeat(64 * 1024) });
    expect(res.status).to.equal(413);
    expect(res.body.code).to.equal('payload_too_large');
  });

  it('when fields have the wrong type or are missing, then 400 names each field', async () => {
    const res = await request(app.server).post('/api/v1/auth/register').send({ email: 42, username: ['x'], password: null });
    expect(res.status).to.equal(400);
    const paths = (res.body.errors as Array<{ path: string }>).map((e) => e.path).sort();
    expect(paths).to.deep.equal(['body.email', 'body.nickname', 'body.password', 'body.username']);
  });

  it('when a body has unknown fields, then 400 names them', async () => {
    const res = await request(app.server).post('/api/v1/auth/login').send({ identifier: user.email, password: user.password, role: 'ADMIN' });
    expect(res.status).to.equal(400);
    expect(res.body.errors[0]).to.deep.equal({ path: 'body', message: 'unknown field(s): role' });
    const patch = await request(app.server).patch('/api/v1/users/me').set('Authorization', bearer(user.accessToken)).send({ nickname: 'ok', isPremium: true });
    expect(patch.status).to.equal(400);
  });

  it('when logout gets no body, then it works; when logout-all gets fields, then 400', async () => {
    const extra = await request(app.server).post('/api/v1/auth/logout-all').set('Authorization', bearer(user.accessToken)).send({ everywhere: true });
    expect(extra.status).to.equal(400);
    const other = await request(app.server).post('/api/v1/auth/login').send({ identifier: user.email, password: user.password });
    expect((await request(app.server).post('/api/v1/auth/logout').set('Authorization', bearer(other.body.accessToken))).status).to.equal(204);
  });

  it('when the body is a JSON array, string or null, then 400', async () => {
    for (const body of ['[]', '"text"', 'null', '12']) {
      const res = await request(app.server).post('/api/v1/auth/login').set('Content-Type', 'application/json').send(body);
      expect(res.status, body).to.equal(400);
    }
  });

  it('when values are out of range (email, username, code, nickname), then 400 with the field path', async () => {
    const bad: Array<[string, object, string]> = [
      ['/auth/register', { ...newAccount(), email: 'not-an-email' }, 'body.email'],
      ['/auth/register', { ...newAccount(), username: 'has@at' }, 'body.username'],
      ['/auth/register', { ...newAccount(), username: 'x'.repeat(33) }, 'body.username'],
      ['/auth/register', { ...newAccount(), nickname: 'bell\u0007' }, 'body.nickname'],
      ['/auth/register', { ...newAccount(), nickname: '   ' }, 'body.nickname'],
      ['/auth/verify-email', { email: 'a@example.test', code: '12345' }, 'body.code'],
      ['/auth/verify-email', { email: 'a@example.test', code: '12345a' }, 'body.code'],
      ['/auth/password/reset', { email: 'a@example.test', code: '123456', newPassword: '' }, 'body.newPassword'],
    ];
    for (const [path, body, field] of bad) {
      const res = await request(app.server).post(`/api/v1${path}`).send(body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).to.equal(400);
      expect((res.body.errors as Array<{ path: string }>).map((e) => e.path), path).to.include(field);
    }
  });

  it('when a profile image URL is not http(s), then 400; null removes it', async () => {
    const auth = { Authorization: bearer(user.accessToken) };
    for (const url of ['javascript:alert(1)', 'data:image/png;base64,AAAA', 'file:///etc/passwd', 'not a url', `https://example.test/${'a'.repeat(2100)}`]) {
      const res = await request(app.server).patch('/api/v1/users/me').set(auth).send({ profileImageUrl: url });
      expect(res.status, url).to.equal(400);
      expect(res.body.errors[0].path).to.equal('body.profileImageUrl');
    }
    expect((await request(app.server).patch('/api/v1/users/me').set(auth).send({})).status).to.equal(400);
    const ok = await request(app.server).patch('/api/v1/users/me').set(auth).send({ profileImageUrl: 'https://cdn.example.test/me.png' });
    expect(ok.status).to.equal(200);
    expect(ok.body.profileImageUrl).to.equal('https://cdn.example.test/me.png');
    const removed = await request(app.server).patch('/api/v1/users/me').set(auth).send({ profileImageUrl: null });
    expect(removed.body.profileImageUrl).to.equal(null);
  });

  it('when the provider name is unknown, then 404 (no such route), and when the OAuth start gets extra query parameters, then 400', async () => {
    expect((await request(app.server).get('/api/v1/auth/oauth/facebook')).status).to.equal(404);
    expect((await request(app.server).get('/api/v1/auth/oauth/google?next=https://evil.test')).status).to.equal(400);
  });

  it('when an OAuth provider is not configured, then its routes answer 404', async () => {
    expect((await request(app.server).get('/api/v1/auth/oauth/google')).status).to.equal(404);
    expect((await request(app.server).get('/api/v1/auth/oauth/naver/callback?code=a&state=b')).status).to.equal(404);
  });
});
