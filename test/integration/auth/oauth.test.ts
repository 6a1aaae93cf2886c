import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import {
  authorizeAtProvider,
  bearer,
  completeOAuth,
  newAccount,
  oauthLogin,
  promoteToAdmin,
  registerVerifyLogin,
  startOAuth,
} from '../../harness/auth-flows.js';
import { startOAuthProvider, type OAuthProvider, type ProviderName, type SocialUser } from '../../harness/oauth-provider.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

const socialUser = (overrides: Partial<SocialUser> = {}): SocialUser => ({
  id: String(1_000_000 + Math.floor(Math.random() * 1_000_000_000)),
  email: `social-${randomBytes(4).toString('hex')}@example.test`,
  emailVerified: true,
  name: 'Social Person',
  ...overrides,
});

describe('auth: OAuth2 login and linking against a real local OAuth2 server', () => {
  let smtp: SmtpCapture;
  let app: TestApp;
  const providers = {} as Record<ProviderName, OAuthProvider>;

  before(async () => {
    smtp = await startSmtpCapture();
    for (const name of ['google', 'kakao', 'naver'] as const) providers[name] = await startOAuthProvider(name);
    app = await startTestApp('oauth', {
      ...smtp.configOverrides(),
      auth: { google: providers.google.config(), kakao: providers.kakao.config(), naver: providers.naver.config(), reauthWindowSec: 1 },
    });
  });
  after(async () => {
    await app.destroy();
    for (const provider of Object.values(providers)) await provider.stop();
    await smtp.stop();
  });

  const me = async (accessToken: string) => (await request(app.server).get('/api/v1/users/me').set('Authorization', bearer(accessToken))).body;

  it('when providers are enabled, then GET /auth/providers lists exactly those (the login page shows only their buttons)', async () => {
    const res = await request(app.server).get('/api/v1/auth/providers').expect(200);
    expect(res.body).to.deep.equal({ providers: ['google', 'kakao', 'naver'] });
  });

  for (const name of ['google', 'kakao', 'naver'] as const) {
    it(`when a new ${name} user logs in, then an ACTIVE account linked to ${name} is created, and the next login finds the same account`, async () => {
      const person = socialUser({ name: `${name} person` });
      const first = await oauthLogin(app, providers[name], person);
      const profile = await me(first.accessToken);
      expect(profile).to.include({ status: 'ACTIVE', hasPassword: false, email: person.email, nickname: `${name} person` });
      expect(profile.providers).to.deep.equal([name]);

      const second = await oauthLogin(app, providers[name], { ...person, name: 'Renamed' });
      expect((await me(second.accessToken)).id).to.equal(profile.id);
      expect(second.sessionId).not.to.equal(first.sessionId);
    });
  }

  it('when the login starts, then the provider is asked with state and an S256 PKCE challenge (google, kakao) or state only (naver)', async () => {
    for (const name of ['google', 'kakao'] as const) {
      const { authorizationUrl } = await startOAuth(app, providers[name]);
      expect(authorizationUrl.searchParams.get('state')).to.match(/^[A-Za-z0-9_-]{32}$/);
      expect(authorizationUrl.searchParams.get('code_challenge_method')).to.equal('S256');
      expect(authorizationUrl.searchParams.get('code_challenge')).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(authorizationUrl.searchParams.get('redirect_uri')).to.match(new RegExp(`/api/v1/auth/oauth/${name}/callback$`));
    }
    const naver = await startOAuth(app, providers.naver);
    expect(naver.authorizationUrl.searchParams.get('state')).to.be.a('string');
    expect(naver.authorizationUrl.searchParams.get('code_challenge')).to.equal(null);
  });

  it('when the state comes back tampered, unknown, reused or without the binding cookie, then the callback refuses before any token exchange', async () => {
    const provider = providers.google;
    const callsBefore = provider.userinfoCalls();

    const tampered = await startOAuth(app, provider);
    const callback = await authorizeAtProvider(provider, tampered.authorizationUrl, socialUser());
    const forged = callback.replace(/state=[^&]+/, `state=${randomBytes(24).toString('base64url')}`);
    expect((await completeOAuth(app, forged, tampered.cookie)).get('error')).to.equal('invalid_state');

    const noCookie = await startOAuth(app, provider);
    const cb2 = await authorizeAtProvider(provider, noCookie.authorizationUrl, socialUser());
    expect((await completeOAuth(app, cb2, undefined)).get('error')).to.equal('invalid_state');

    const otherBrowser = await startOAuth(app, provider);
    const victim = await startOAuth(app, provider);
    const cb3 = await authorizeAtProvider(provider, otherBrowser.authorizationUrl, socialUser());
    expect((await completeOAuth(app, cb3, victim.cookie)).get('error')).to.equal('invalid_state');

    const garbage = await completeOAuth(app, '/api/v1/auth/oauth/google/callback?code=abc&state=%00%27%22', tampered.cookie);
    expect(garbage.get('error')).to.equal('invalid_state');
    expect(provider.userinfoCalls()).to.equal(callsBefore);

    // A state is redeemed once: replaying a completed callback fails.
    const good = await startOAuth(app, provider);
    const cb4 = await authorizeAtProvider(provider, good.authorizationUrl, socialUser());
    expect((await completeOAuth(app, cb4, good.cookie)).get('code')).to.be.a('string');
    expect((await completeOAuth(app, cb4, good.cookie)).get('error')).to.equal('invalid_state');
  });

  it('when a callback without the binding cookie, or with another browser\'s, comes first, then the genuine browser\'s callback still logs in', async () => {
    const provider = providers.google;
    const person = socialUser();
    const genuine = await startOAuth(app, provider);
    const other = await startOAuth(app, provider);
    const callback = await authorizeAtProvider(provider, genuine.authorizationUrl, person);
    // Someone who saw the callback URL (history, a referer, a shared screen) replays it first.
    expect((await completeOAuth(app, callback, undefined)).get('error')).to.equal('invalid_state');
    expect((await completeOAuth(app, callback, other.cookie)).get('error')).to.equal('invalid_state');
    expect((await completeOAuth(app, callback, genuine.cookie)).get('code')).to.be.a('string');
    // Once used by its browser, the state is gone.
    expect((await completeOAuth(app, callback, genuine.cookie)).get('error')).to.equal('invalid_state');
  });

  it('when the state of one provider is presented to another provider’s callback, then it is refused', async () => {
    const run = await startOAuth(app, providers.kakao);
    const callback = await authorizeAtProvider(providers.kakao, run.authorizationUrl, socialUser());
    const landing = await completeOAuth(app, callback.replace('/oauth/kakao/', '/oauth/google/'), run.cookie);
    expect(landing.get('error')).to.equal('invalid_state');
  });

  it('when the PKCE verifier sent to the token endpoint does not match the challenge, then the provider refuses and so does the callback', async () => {
    const provider = providers.kakao;
    const run = await startOAuth(app, provider);
    const state = run.authorizationUrl.searchParams.get('state')!;
    const key = `oauth:state:${state}`;
    const record = JSON.parse((await app.clients.redis.get(key))!);
    // The stored verifier really is the one behind the challenge sent to the provider…
    const challenge = createHash('sha256').update(record.verifier).digest('base64url');
    expect(challenge).to.equal(run.authorizationUrl.searchParams.get('code_challenge'));
    // …and replacing it makes the mock server's /token refuse the code.
    await app.clients.redis.set(key, JSON.stringify({ ...record, verifier: randomBytes(32).toString('base64url') }), 'EX', 60);
    const callback = await authorizeAtProvider(provider, run.authorizationUrl, socialUser());
    const calls = provider.userinfoCalls();
    expect((await completeOAuth(app, callback, run.cookie)).get('error')).to.equal('provider_error');
    expect(provider.userinfoCalls()).to.equal(calls);
  });

  it('when the user denies consent at the provider, then the app lands with error=access_denied', async () => {
    const run = await startOAuth(app, providers.google);
    const state = run.authorizationUrl.searchParams.get('state');
    const landing = await completeOAuth(app, `/api/v1/auth/oauth/google/callback?error=access_denied&state=${state}`, run.cookie);
    expect(landing.get('error')).to.equal('access_denied');
  });

  it('when the provider email belongs to an existing local account, then no account is linked or created (email_in_use)', async () => {
    const local = await registerVerifyLogin(app, smtp);
    const person = socialUser({ email: local.email });
    const run = await startOAuth(app, providers.google);
    const landing = await completeOAuth(app, await authorizeAtProvider(providers.google, run.authorizationUrl, person), run.cookie);
    expect(landing.get('error')).to.equal('email_in_use');
    expect(landing.get('code')).to.equal(null);
    expect((await me(local.accessToken)).providers).to.deep.equal([]);
  });

  it('when a sign-up that never verified holds the email a provider vouches for, then that sign-up is deleted and the social account gets the email', async () => {
    const squatter = newAccount();
    expect((await request(app.server).post('/api/v1/auth/register').send(squatter)).status).to.equal(201);
    const verificationCode = await smtp.takeCode(squatter.email, /verification/i);

    const tokens = await oauthLogin(app, providers.google, socialUser({ email: squatter.email }));
    const profile = await me(tokens.accessToken);
    expect(profile).to.include({ status: 'ACTIVE', email: squatter.email, hasPassword: false });
    expect(profile.providers).to.deep.equal(['google']);

    const verify = await request(app.server).post('/api/v1/auth/verify-email').send({ email: squatter.email, code: verificationCode });
    expect(verify.body.code).to.equal('invalid_code');
    expect((await request(app.server).post('/api/v1/auth/login').send({ identifier: squatter.username, password: squatter.password })).status).to.equal(401);
  });

  it('when the provider email belongs to a blocked account, then it stays email_in_use', async () => {
    const local = await registerVerifyLogin(app, smtp);
    await app.sql.User.update({ status: 'BLOCKED' }, { where: { id: local.userId } });
    const run = await startOAuth(app, providers.kakao);
    const landing = await completeOAuth(app, await authorizeAtProvider(providers.kakao, run.authorizationUrl, socialUser({ email: local.email })), run.cookie);
    expect(landing.get('error')).to.equal('email_in_use');
    expect((await app.sql.User.findByPk(local.userId))?.status).to.equal('BLOCKED');
  });

  it('when the provider email is not verified, then it is not trusted: a separate account without email is created', async () => {
    const local = await registerVerifyLogin(app, smtp);
    const tokens = await oauthLogin(app, providers.google, socialUser({ email: local.email, emailVerified: false }));
    const profile = await me(tokens.accessToken);
    expect(profile.id).not.to.equal(local.userId);
    expect(profile.email).to.equal(null);
  });

  it('when a one-time exchange code is used twice or is made up, then 400 invalid_code', async () => {
    const run = await startOAuth(app, providers.naver);
    const landing = await completeOAuth(app, await authorizeAtProvider(providers.naver, run.authorizationUrl, socialUser()), run.cookie);
    const code = landing.get('code')!;
    expect((await request(app.server).post('/api/v1/auth/oauth/exchange').send({ code })).status).to.equal(200);
    const again = await request(app.server).post('/api/v1/auth/oauth/exchange').send({ code });
    expect(again.status).to.equal(400);
    expect(again.body.code).to.equal('invalid_code');
    expect((await request(app.server).post('/api/v1/auth/oauth/exchange').send({ code: 'made-up' })).status).to.equal(400);
  });

  it('when the user logs out everywhere between the provider callback and the code exchange, then the exchange is refused', async () => {
    const person = socialUser();
    const earlier = await oauthLogin(app, providers.naver, person);
    const run = await startOAuth(app, providers.naver);
    const code = (await completeOAuth(app, await authorizeAtProvider(providers.naver, run.authorizationUrl, person), run.cookie)).get('code');
    await request(app.server).post('/api/v1/auth/logout-all').set('Authorization', bearer(earlier.accessToken)).send({}).expect(204);
    const exchange = await request(app.server).post('/api/v1/auth/oauth/exchange').send({ code });
    expect(exchange.status).to.equal(400);
    expect(exchange.body.code).to.equal('invalid_code');
    await oauthLogin(app, providers.naver, person); // a login started afterwards goes through
  });

  it('when a signed-in user links kakao, then kakao logins reach that account; linking a kakao account owned by someone else is refused', async () => {
    const local = await registerVerifyLogin(app, smtp);
    const person = socialUser();
    const start = await request(app.server).post('/api/v1/users/me/providers/kakao/link').set('Authorization', bearer(local.accessToken)).send({});
    expect(start.status).to.equal(200);
    const cookie = ([] as string[]).concat(start.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).find((c) => c.startsWith('oauth_binding='))!;
    const landing = await completeOAuth(app, await authorizeAtProvider(providers.kakao, new URL(start.body.authorizationUrl), person), cookie);
    expect(landing.get('linked')).to.equal('kakao');
    expect((await me(local.accessToken)).providers).to.deep.equal(['kakao']);

    const viaKakao = await oauthLogin(app, providers.kakao, person);
    expect((await me(viaKakao.accessToken)).id).to.equal(local.userId);

    const other = await registerVerifyLogin(app, smtp);
    const start2 = await request(app.server).post('/api/v1/users/me/providers/kakao/link').set('Authorization', bearer(other.accessToken)).send({});
    const cookie2 = ([] as string[]).concat(start2.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).find((c) => c.startsWith('oauth_binding='))!;
    const refused = await completeOAuth(app, await authorizeAtProvider(providers.kakao, new URL(start2.body.authorizationUrl), person), cookie2);
    expect(refused.get('error')).to.equal('provider_account_in_use');
    expect((await me(other.accessToken)).providers).to.deep.equal([]);
  });

  it('when unlinking, then a password account may drop its provider, but a social-only account cannot drop its last way in', async () => {
    const socialOnly = await oauthLogin(app, providers.naver, socialUser());
    const last = await request(app.server).delete('/api/v1/users/me/providers/naver').set('Authorization', bearer(socialOnly.accessToken));
    expect(last.status).to.equal(409);
    expect(last.body.code).to.equal('last_login_method');

    const local = await registerVerifyLogin(app, smtp);
    const start = await request(app.server).post('/api/v1/users/me/providers/google/link').set('Authorization', bearer(local.accessToken)).send({});
    const cookie = ([] as string[]).concat(start.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).find((c) => c.startsWith('oauth_binding='))!;
    await completeOAuth(app, await authorizeAtProvider(providers.google, new URL(start.body.authorizationUrl), socialUser()), cookie);
    expect((await request(app.server).delete('/api/v1/users/me/providers/google').set('Authorization', bearer(local.accessToken))).status).to.equal(204);
    expect((await request(app.server).delete('/api/v1/users/me/providers/google').set('Authorization', bearer(local.accessToken))).status).to.equal(404);
    expect((await me(local.accessToken)).providers).to.deep.equal([]);
  });

  it('when a blocked user logs in through a provider, then the callback lands with account_blocked and no code', async () => {
    const person = socialUser();
    const tokens = await oauthLogin(app, providers.google, person);
    const userId = (await me(tokens.accessToken)).id as string;
    const admin = await promoteToAdmin(app, await registerVerifyLogin(app, smtp));
    expect((await request(app.server).post(`/api/v1/admin/users/${userId}/block`).set('Authorization', bearer(admin.accessToken))).status).to.equal(200);
    const run = await startOAuth(app, providers.google);
    const landing = await completeOAuth(app, await authorizeAtProvider(providers.google, run.authorizationUrl, person), run.cookie);
    expect(landing.get('error')).to.equal('account_blocked');
    expect(landing.get('code')).to.equal(null);
  });

  it('when a social-only account deletes itself from a fresh login with confirm:true, then it is gone; from a stale session, reauth_required', async () => {
    const person = socialUser();
    const stale = await oauthLogin(app, providers.kakao, person);
    await new Promise((r) => setTimeout(r, 1_100));
    const refused = await request(app.server).post('/api/v1/users/me/delete').set('Authorization', bearer(stale.accessToken)).send({ confirm: true });
    expect(refused.status).to.equal(403);
    expect(refused.body.code).to.equal('reauth_required');

    const fresh = await oauthLogin(app, providers.kakao, person);
    const noConfirm = await request(app.server).post('/api/v1/users/me/delete').set('Authorization', bearer(fresh.accessToken)).send({});
    expect(noConfirm.status).to.equal(400);
    expect(noConfirm.body.errors[0].path).to.equal('body.confirm');
    const deleted = await request(app.server).post('/api/v1/users/me/delete').set('Authorization', bearer(fresh.accessToken)).send({ confirm: true });
    expect(deleted.status).to.equal(204);
    expect((await request(app.server).get('/api/v1/users/me').set('Authorization', bearer(fresh.accessToken))).status).to.equal(401);
    // The provider account is free again: the next login creates a new account.
    const again = await oauthLogin(app, providers.kakao, person);
    expect((await me(again.accessToken)).id).to.be.a('string');
  });
});
