import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import type { ApiApp } from '../../src/app.js';
import type { OAuthProvider, SocialUser } from './oauth-provider.js';
import type { SmtpCapture } from './smtp-capture.js';

export interface TokenPairBody {
  tokenType: 'Bearer';
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresAt: string;
  sessionId: string;
}

export interface TestUser {
  userId: string;
  email: string;
  username: string;
  password: string;
  nickname: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

export interface NewAccount {
  email: string;
  username: string;
  password: string;
  nickname: string;
}

/** Fresh, policy-compliant registration data (unique per call). */
export function newAccount(overrides: Partial<NewAccount> = {}): NewAccount {
  const tag = randomBytes(5).toString('hex');
  return {
    email: `user-${tag}@example.test`,
    username: `user_${tag}`,
    password: `Quiet-river-${randomBytes(6).toString('hex')}`,
    nickname: `Diarist ${tag}`,
    ...overrides,
  };
}

export const bearer = (token: string) => `Bearer ${token}`;

/** Logs in by email or username; expects success. */
export async function login(app: ApiApp, identifier: string, password: string): Promise<TokenPairBody> {
  const res = await request(app.server).post('/api/v1/auth/login').send({ identifier, password });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as TokenPairBody;
}

/**
 * The whole local sign-up through the real edges: register, read the code from the captured mail,
 * verify, log in. The app must mail through `smtp` (`startTestApp(label, smtp.configOverrides())`).
 */
export async function registerVerifyLogin(app: ApiApp, smtp: SmtpCapture, overrides: Partial<NewAccount> = {}): Promise<TestUser> {
  const account = newAccount(overrides);
  const registered = await request(app.server).post('/api/v1/auth/register').send(account);
  expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
  const code = await smtp.takeCode(account.email, /verification/i);
  const verified = await request(app.server).post('/api/v1/auth/verify-email').send({ email: account.email, code });
  expect(verified.status, JSON.stringify(verified.body)).to.equal(200);
  const tokens = await login(app, account.email, account.password);
  return { ...account, email: account.email.toLowerCase(), userId: registered.body.id, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, sessionId: tokens.sessionId };
}

/** Makes an existing user ADMIN directly in the database and logs in again for a token with the role. */
export async function promoteToAdmin(app: ApiApp, user: TestUser): Promise<TestUser> {
  await app.sql.User.update({ role: 'ADMIN' }, { where: { id: user.userId } });
  const tokens = await login(app, user.email, user.password);
  return { ...user, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, sessionId: tokens.sessionId };
}

export interface OAuthRun {
  /** The app's redirect to the provider (302 Location). */
  authorizationUrl: URL;
  /** The `oauth_binding` cookie the start set, as a `Cookie` header value. */
  cookie: string;
}

/** Step 1: the app redirects the browser to the provider and sets the binding cookie. */
export async function startOAuth(app: ApiApp, provider: OAuthProvider): Promise<OAuthRun> {
  const res = await request(app.server).get(`/api/v1/auth/oauth/${provider.name}`);
  expect(res.status, JSON.stringify(res.body)).to.equal(302);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const cookie = setCookie.map((c) => c.split(';')[0] ?? '').find((c) => c.startsWith('oauth_binding=') && c.length > 'oauth_binding='.length);
  expect(cookie, 'binding cookie').to.be.a('string');
  return { authorizationUrl: new URL(res.headers.location as string), cookie: cookie! };
}

/** Step 2: the provider authenticates `user` and redirects back; returns the callback path + query. */
export async function authorizeAtProvider(provider: OAuthProvider, authorizationUrl: URL, user: SocialUser): Promise<string> {
  provider.setUser(user);
  const res = await fetch(authorizationUrl, { redirect: 'manual' });
  expect(res.status).to.equal(302);
  const callback = new URL(res.headers.get('location')!);
  return `${callback.pathname}${callback.search}`;
}

/** Step 3: the browser lands on the app's callback; returns the fragment parameters of the app's final redirect. */
export async function completeOAuth(app: ApiApp, callbackPath: string, cookie: string | undefined): Promise<URLSearchParams> {
  const req = request(app.server).get(callbackPath);
  if (cookie) req.set('Cookie', cookie);
  const res = await req;
  expect(res.status, JSON.stringify(res.body)).to.equal(302);
  const location = new URL(res.headers.location as string, 'http://app.invalid');
  return new URLSearchParams(location.hash.slice(1));
}

/** The whole OAuth login: start, provider, callback, exchange of the one-time code for tokens. */
export async function oauthLogin(app: ApiApp, provider: OAuthProvider, user: SocialUser): Promise<TokenPairBody> {
  const run = await startOAuth(app, provider);
  const callback = await authorizeAtProvider(provider, run.authorizationUrl, user);
  const landing = await completeOAuth(app, callback, run.cookie);
  expect(landing.get('error'), 'oauth error').to.equal(null);
  const code = landing.get('code');
  expect(code, 'exchange code').to.be.a('string');
  const res = await request(app.server).post('/api/v1/auth/oauth/exchange').send({ code });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as TokenPairBody;
}
