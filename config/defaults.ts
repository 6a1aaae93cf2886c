import { hostname } from 'node:os';

/**
 * Values the schema cannot default by itself: every section (so nested defaults apply),
 * the instance id, and the public OAuth endpoints of each provider.
 */
export function baseDefaults(): Record<string, unknown> {
  return {
    app: { instanceId: `${hostname()}-${process.pid}`, publicUrl: 'http://127.0.0.1:3000' },
    http: {},
    log: {},
    mariadb: { replica: {} },
    mongo: {},
    redis: {},
    kafka: {},
    auth: {
      jwt: {},
      refresh: {},
      argon2: {},
      codes: {},
      rateLimits: {},
      google: {
        authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
        tokenUrl: 'https://oauth2.googleapis.com/token',
        userInfoUrl: 'https://openidconnect.googleapis.com/v1/userinfo',
        scope: ['openid', 'email', 'profile'],
        pkce: true,
      },
      kakao: {
        authorizationUrl: 'https://kauth.kakao.com/oauth/authorize',
        tokenUrl: 'https://kauth.kakao.com/oauth/token',
        userInfoUrl: 'https://kapi.kakao.com/v2/user/me',
        scope: ['profile_nickname', 'account_email'],
        pkce: true,
      },
      naver: {
        authorizationUrl: 'https://nid.naver.com/oauth2.0/authorize',
        tokenUrl: 'https://nid.naver.com/oauth2.0/token',
        userInfoUrl: 'https://openapi.naver.com/v1/nid/me',
        scope: [],
        // Naver's authorization server does not implement PKCE.
        pkce: false,
      },
    },
    mail: { smtp: {} },
    diaries: {},
    outbox: {},
    worker: { llm: {}, embedding: {} },
    gateway: {},
    realtime: {},
    metrics: {},
    backup: {},
  };
}
