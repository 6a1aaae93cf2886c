import type { IncomingMessage } from 'node:http';
import { OAuth2Server, type MutableResponse } from 'oauth2-mock-server';

export type ProviderName = 'google' | 'kakao' | 'naver';

/** A person at the provider, described once and rendered in each provider's userinfo shape. */
export interface SocialUser {
  id: string;
  email?: string | null;
  /** Google `email_verified`, Kakao `is_email_verified`/`is_email_valid`; Naver has no flag. */
  emailVerified?: boolean;
  name?: string;
}

export interface OAuthProvider {
  name: ProviderName;
  server: OAuth2Server;
  /** `auth.<provider>` config overrides pointing the app at this server. */
  config(): Record<string, unknown>;
  /** Who the next userinfo call describes. */
  setUser(user: SocialUser): void;
  /** Number of userinfo calls that carried a Bearer token. */
  userinfoCalls(): number;
  stop(): Promise<void>;
}

/** The provider's real userinfo JSON for `user` (Google OIDC, Kakao /v2/user/me, Naver /v1/nid/me). */
export function userinfoBody(name: ProviderName, user: SocialUser): unknown {
  switch (name) {
    case 'google':
      return { sub: user.id, email: user.email ?? undefined, email_verified: user.emailVerified ?? true, name: user.name };
    case 'kakao':
      return {
        id: Number(user.id),
        connected_at: new Date().toISOString(),
        kakao_account: {
          profile_nickname_needs_agreement: false,
          profile: { nickname: user.name },
          has_email: user.email != null,
          email_needs_agreement: false,
          is_email_valid: user.email != null,
          is_email_verified: user.emailVerified ?? true,
          email: user.email ?? undefined,
        },
      };
    case 'naver':
      return { resultcode: '00', message: 'success', response: { id: user.id, email: user.email ?? undefined, nickname: user.name } };
  }
}

/**
 * A real OAuth2/OIDC server on 127.0.0.1 (oauth2-mock-server) standing in for one provider: its
 * /authorize, /token (which checks a PKCE code_verifier against the challenge) and /userinfo,
 * answering userinfo in that provider's shape and refusing calls without a Bearer token.
 */
export async function startOAuthProvider(name: ProviderName): Promise<OAuthProvider> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const base = server.issuer.url!.replace('localhost', '127.0.0.1');
  let current: SocialUser = { id: '1000', email: null, name: 'Nobody' };
  let calls = 0;

  server.service.on('beforeUserinfo', (response: MutableResponse, req: IncomingMessage) => {
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) {
      response.statusCode = 401;
      response.body = { error: 'invalid_token' };
      return;
    }
    calls++;
    response.body = userinfoBody(name, current) as MutableResponse['body'];
  });

  return {
    name,
    server,
    config: () => ({
      enabled: true,
      clientId: `${name}-client`,
      clientSecret: `${name}-secret`,
      authorizationUrl: `${base}/authorize`,
      tokenUrl: `${base}/token`,
      userInfoUrl: `${base}/userinfo`,
      pkce: name !== 'naver',
    }),
    setUser(user) {
      current = user;
    },
    userinfoCalls: () => calls,
    stop: () => server.stop(),
  };
}
