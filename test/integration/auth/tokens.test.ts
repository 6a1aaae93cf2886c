import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { bearer, login, registerVerifyLogin, type TestUser } from '../../harness/auth-flows.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

describe('auth: access tokens, refresh rotation, logout', () => {
  let smtp: SmtpCapture;
  let app: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    smtp = await startSmtpCapture();
    // A short reuse grace, so the tests see both sides of it.
    app = await startTestApp('tokens', { ...smtp.configOverrides(), auth: { refresh: { reuseGraceSec: 1 } } });
    alice = await registerVerifyLogin(app, smtp);
    bob = await registerVerifyLogin(app, smtp);
  });
  after(async () => {
    await app.destroy();
    await smtp.stop();
  });

  const me = (token: string) => request(app.server).get('/api/v1/users/me').set('Authorization', bearer(token));
  const refresh = (refreshToken: string) => request(app.server).post('/api/v1/auth/refresh').send({ refreshToken });

  it('when a refresh token is used, then it is rotated and the new pair works', async () => {
    const session = await login(app, alice.email, alice.password);
    const res = await refresh(session.refreshToken);
    expect(res.status).to.equal(200);
    expect(res.headers['cache-control']).to.equal('no-store');
    expect(res.body.refreshToken).to.match(/^[A-Za-z0-9_-]{43}$/).and.not.equal(session.refreshToken);
    expect(res.body.sessionId).to.equal(session.sessionId);
    expect((await me(res.body.accessToken)).status).to.equal(200);
  });

  it('when two tabs refresh with the same token at once, then both get the same new token and the session lives on', async () => {
    const session = await login(app, alice.email, alice.password);
    const [a, b] = await Promise.all([refresh(session.refreshToken), refresh(session.refreshToken)]);
    expect([a.status, b.status]).to.deep.equal([200, 200]);
    expect(a.body.refreshToken).to.equal(b.body.refreshToken);
    expect(a.body.refreshToken).to.not.equal(session.refreshToken);
    expect((await me(a.body.accessToken)).status).to.equal(200);
    expect((await me(b.body.accessToken)).status).to.equal(200);
    expect((await refresh(a.body.refreshToken)).status).to.equal(200);
  });

  it('when a token exchanged moments ago comes back after the family moved on twice, then it gets the newest token', async () => {
    const session = await login(app, alice.email, alice.password);
    const second = (await refresh(session.refreshToken)).body;
    const third = (await refresh(second.refreshToken)).body;
    const late = await refresh(session.refreshToken);
    expect(late.status).to.equal(200);
    expect(late.body.refreshToken).to.equal(third.refreshToken);
  });

  it('when an already-used refresh token is presented after the grace window, then the whole family is revoked, including the newest access token', async () => {
    const session = await login(app, alice.email, alice.password);
    const second = (await refresh(session.refreshToken)).body;
    const third = (await refresh(second.refreshToken)).body;
    expect((await me(third.accessToken)).status).to.equal(200);

    await new Promise((r) => setTimeout(r, 1_300));
    const reuse = await refresh(session.refreshToken);
    expect(reuse.status).to.equal(401);
    expect(reuse.body.code).to.equal('refresh_token_reused');
    expect((await refresh(third.refreshToken)).status).to.equal(401);
    const revoked = await me(third.accessToken);
    expect(revoked.status).to.equal(401);
    expect(revoked.body.code).to.equal('token_revoked');
    // Other sessions of the same user are untouched.
    expect((await me(alice.accessToken)).status).to.equal(200);
  });

  it('when logging out, then that session’s access and refresh tokens stop working and other sessions keep working', async () => {
    const a = await login(app, alice.email, alice.password);
    const b = await login(app, alice.email, alice.password);
    expect((await request(app.server).post('/api/v1/auth/logout').set('Authorization', bearer(a.accessToken)).send({ refreshToken: a.refreshToken })).status).to.equal(204);
    expect((await me(a.accessToken)).status).to.equal(401);
    expect((await refresh(a.refreshToken)).status).to.equal(401);
    expect((await me(b.accessToken)).status).to.equal(200);
    expect((await refresh(b.refreshToken)).status).to.equal(200);
  });

  it('when logging out with a refresh token of another user’s family, then 403 and nothing is revoked', async () => {
    const mine = await login(app, bob.email, bob.password);
    const theirs = await login(app, alice.email, alice.password);
    const res = await request(app.server).post('/api/v1/auth/logout').set('Authorization', bearer(mine.accessToken)).send({ refreshToken: theirs.refreshToken });
    expect(res.status).to.equal(403);
    expect(res.body.code).to.equal('session_mismatch');
    expect((await me(mine.accessToken)).status).to.equal(200);
    expect((await refresh(theirs.refreshToken)).status).to.equal(200);
  });

  it('when logging out everywhere, then every session of the user ends', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const other = await login(app, user.email, user.password);
    expect((await request(app.server).post('/api/v1/auth/logout-all').set('Authorization', bearer(user.accessToken))).status).to.equal(204);
    for (const token of [user.accessToken, other.accessToken]) expect((await me(token)).status).to.equal(401);
    for (const token of [user.refreshToken, other.refreshToken]) expect((await refresh(token)).status).to.equal(401);
    // Logging in again works.
    expect((await me((await login(app, user.email, user.password)).accessToken)).status).to.equal(200);
  });

  it('when the refresh token is garbage, an access token, or empty, then 400/401 problem answers, never 500', async () => {
    for (const token of ['x', 'A'.repeat(43), alice.accessToken]) {
      const res = await refresh(token);
      expect(res.status).to.equal(401);
      expect(res.headers['content-type']).to.match(/problem\+json/);
    }
    expect((await refresh('')).status).to.equal(400);
  });

  describe('forged and broken access tokens', () => {
    const secret = 'test-only-secret-0123456789-abcdefghijklmnop';
    const claims = () => ({ sub: alice.userId, role: 'ADMIN', sid: alice.sessionId, iat_ms: Date.now() });
    const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const sign = (payload: object, options: jwt.SignOptions, key: jwt.Secret = secret) =>
      jwt.sign(payload, key, { issuer: 'emotion-diary', audience: 'emotion-diary-clients', jwtid: 'j1', ...('exp' in payload ? {} : { expiresIn: 600 }), ...options });

    const cases: Array<[string, () => string]> = [
      ['alg none', () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ ...claims(), iss: 'emotion-diary', aud: 'emotion-diary-clients', exp: Math.floor(Date.now() / 1000) + 600, jti: 'x' })}.`],
      ['HS256 signed with another secret', () => sign(claims(), { algorithm: 'HS256' }, 'another-secret-0123456789-abcdefghijklmnop')],
      ['RS256 (HS/RS confusion)', () => sign(claims(), { algorithm: 'RS256' }, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }))],
      ['HS512 with the right secret (algorithm not pinned one)', () => sign(claims(), { algorithm: 'HS512' })],
      ['expired', () => sign({ ...claims(), role: 'USER', exp: Math.floor(Date.now() / 1000) - 60 }, { algorithm: 'HS256' })],
      ['wrong audience', () => sign(claims(), { algorithm: 'HS256', audience: 'someone-else' })],
      ['wrong issuer', () => sign(claims(), { algorithm: 'HS256', issuer: 'evil' })],
      ['missing claims', () => sign({ sub: alice.userId }, { algorithm: 'HS256' })],
      ['correctly signed without exp (valid forever)', () => jwt.sign({ ...claims(), sub: alice.userId }, secret, { issuer: 'emotion-diary', audience: 'emotion-diary-clients', jwtid: 'j1', algorithm: 'HS256' })],
      ['correctly signed without iat', () => sign({ ...claims(), sub: alice.userId }, { algorithm: 'HS256', noTimestamp: true })],
      ['tampered payload', () => {
        const [header, payload, signature] = alice.accessToken.split('.');
        const body = JSON.parse(Buffer.from(payload!, 'base64url').toString());
        return `${header}.${base64url({ ...body, role: 'ADMIN' })}.${signature}`;
      }],
      ['not a JWT', () => 'definitely-not-a-token'],
      ['three garbage segments', () => 'a.b.c'],
    ];
    for (const [name, make] of cases) {
      it(`when the access token is ${name}, then 401 problem+json`, async () => {
        const res = await request(app.server).get('/api/v1/admin/users').set('Authorization', bearer(make()));
        expect(res.status).to.equal(401);
        expect(res.headers['content-type']).to.match(/problem\+json/);
      });
    }

    it('when the Authorization header is missing, not Bearer, or has junk, then 401', async () => {
      for (const header of [undefined, 'Basic abc', 'Bearer', `Bearer ${alice.accessToken} extra`, 'Bearer a.b', 'Bearer  ' + alice.accessToken]) {
        const req = request(app.server).get('/api/v1/users/me');
        if (header !== undefined) req.set('Authorization', header);
        expect((await req).status).to.equal(401);
      }
    });

    it('when a USER calls an admin route with a valid token, then 403', async () => {
      const res = await request(app.server).get('/api/v1/admin/users').set('Authorization', bearer(alice.accessToken));
      expect(res.status).to.equal(403);
    });
  });
});
