import { expect } from 'chai';
import request from 'supertest';
import { createAuthService, type AuthService } from '../../../src/auth/auth-service.js';
import { noopAuthEvents } from '../../../src/auth/auth-events.js';
import { createLoginThrottle } from '../../../src/auth/login-throttle.js';
import { createOneTimeCodes } from '../../../src/auth/one-time-codes.js';
import { createPasswordHasher, type PasswordHasher } from '../../../src/auth/password-hasher.js';
import { createRefreshTokenStore, type RefreshTokenStore } from '../../../src/auth/refresh-token-store.js';
import { createSessionService } from '../../../src/auth/session-service.js';
import { UnauthorizedError } from '../../../kernel/errors.js';
import { createRateLimiter } from '../../../kernel/rate-limiter.js';
import { createUserRepository } from '../../../src/users/user-repository.js';
import { bearer, promoteToAdmin, registerVerifyLogin, type TestUser } from '../../harness/auth-flows.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

/**
 * A login spends argon2 time on a row it read before; whatever ends the account's sessions in that
 * time must end the login too. The race is made deterministic through a real dependency of the
 * login, the password hasher: the test's hasher runs the competing request right after verifying.
 * The auth service is built here on the app's own MariaDB and Redis (the app serves the rest).
 */
describe('auth: a login in flight does not survive what ends the account’s sessions', () => {
  let smtp: SmtpCapture;
  let app: TestApp;
  let auth: AuthService;
  let refreshTokens: RefreshTokenStore;
  let afterNextVerify: (() => Promise<void>) | undefined;

  before(async () => {
    smtp = await startSmtpCapture();
    app = await startTestApp('loginrace', smtp.configOverrides());
    const { auth: config } = app.config;
    const real = createPasswordHasher(config.argon2);
    const hasher: PasswordHasher = {
      ...real,
      async verify(passwordHash, password) {
        const ok = await real.verify(passwordHash, password);
        const competing = afterNextVerify;
        afterNextVerify = undefined;
        await competing?.();
        return ok;
      },
    };
    const users = createUserRepository(app.clients.sequelize, app.sql);
    const limiter = createRateLimiter(app.clients.redis);
    refreshTokens = createRefreshTokenStore(app.clients.redis, { ...config.refresh, secret: config.jwt.secret });
    const sessions = createSessionService({ accessTokens: app.accessTokens, refreshTokens, revocation: app.tokenRevocation, users, events: noopAuthEvents, onUserChanged: async () => {} });
    const codes = (purpose: 'verify' | 'reset') => createOneTimeCodes(app.clients.redis, { purpose, ttlSec: 60, maxAttempts: 5, secret: 'login-race-test' });
    auth = createAuthService({
      config,
      users,
      hasher,
      sessions,
      verifyCodes: codes('verify'),
      resetCodes: codes('reset'),
      limiter,
      throttle: createLoginThrottle(limiter, app.clients.redis, config.rateLimits),
      mailer: { send: async () => {}, close() {} },
      log: app.log,
      onUserChanged: async () => {},
    });
  });
  after(async () => {
    await app.destroy();
    await smtp.stop();
  });

  const liveSessions = (user: TestUser) => app.clients.redis.smembers(`rt:{u:${user.userId}}:sessions`);

  /** Logs in through the test's auth service while `competing` runs between verification and session start. */
  async function loginRacing(user: TestUser, competing: () => Promise<void>): Promise<unknown> {
    afterNextVerify = competing;
    return auth.login({ identifier: user.email, password: user.password }, '127.0.0.1').catch((err: unknown) => err);
  }

  it('when the password is reset while a login with the old password is being verified, then the login is refused and leaves no session', async () => {
    const user = await registerVerifyLogin(app, smtp);
    await request(app.server).post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    const code = await smtp.takeCode(user.email, /reset/i);
    const outcome = await loginRacing(user, async () => {
      await request(app.server).post('/api/v1/auth/password/reset').send({ email: user.email, code, newPassword: 'A-brand-new-passphrase' }).expect(204);
    });
    expect(outcome).to.be.instanceOf(UnauthorizedError).and.to.include({ code: 'invalid_credentials' });
    expect(await liveSessions(user)).to.deep.equal([]);
  });

  it('when the account is blocked while a login is being verified, then the login is refused and leaves no session', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const admin = await promoteToAdmin(app, await registerVerifyLogin(app, smtp));
    const outcome = await loginRacing(user, async () => {
      await request(app.server).post(`/api/v1/admin/users/${user.userId}/block`).set('Authorization', bearer(admin.accessToken)).expect(200);
    });
    expect(outcome).to.be.instanceOf(UnauthorizedError).and.to.include({ code: 'invalid_credentials' });
    expect(await liveSessions(user)).to.deep.equal([]);
  });

  it('when the user logs out everywhere while a login is being verified, then that login is ended too', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const outcome = await loginRacing(user, async () => {
      await request(app.server).post('/api/v1/auth/logout-all').set('Authorization', bearer(user.accessToken)).send({}).expect(204);
    });
    expect(outcome).to.be.instanceOf(UnauthorizedError).and.to.include({ code: 'invalid_credentials' });
    expect(await liveSessions(user)).to.deep.equal([]);
  });

  it('when nothing happens to the account during the login, then it succeeds and its refresh token works', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const tokens = await loginRacing(user, async () => {});
    expect(tokens).to.have.property('refreshToken');
    const { refreshToken } = tokens as { refreshToken: string };
    expect((await request(app.server).post('/api/v1/auth/refresh').send({ refreshToken })).status).to.equal(200);
  });

  it('when a session was authenticated before the user logged out everywhere but created after, then its refresh token is refused', async () => {
    const user = await registerVerifyLogin(app, smtp);
    const readAtMs = Date.now();
    await request(app.server).post('/api/v1/auth/logout-all').set('Authorization', bearer(user.accessToken)).send({}).expect(204);
    // What a login that skipped the check in SessionService.start would leave behind.
    const { refreshToken } = await refreshTokens.create(user.userId, 'password', readAtMs);
    const res = await request(app.server).post('/api/v1/auth/refresh').send({ refreshToken });
    expect(res.status).to.equal(401);
    expect(res.body.code).to.equal('invalid_refresh_token');
  });
});
