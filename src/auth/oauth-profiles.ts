import { z } from 'zod';
import type { SocialProvider } from '../users/user-repository.js';

/** What the app keeps from a provider's userinfo answer. */
export interface SocialProfile {
  provider: SocialProvider;
  /** The provider's stable user id: the only key accounts are matched by. */
  id: string;
  /** Only set when the provider vouches that the address is verified. */
  email: string | null;
  name: string | null;
}

const id = z.union([z.string().min(1).max(191), z.number().int().nonnegative()]).transform(String);
const email = z.string().max(254).pipe(z.email()).optional().nullable();
const name = z.string().max(200).optional().nullable();

/** Google OIDC userinfo: `{ sub, email, email_verified, name }`. */
const google = z.object({ sub: id, email, email_verified: z.boolean().optional(), name });
/** Kakao `/v2/user/me`: `{ id, kakao_account: { email, is_email_valid, is_email_verified, profile: { nickname } } }`. */
const kakao = z.object({
  id,
  kakao_account: z
    .object({
      email,
      is_email_valid: z.boolean().optional(),
      is_email_verified: z.boolean().optional(),
      profile: z.object({ nickname: name }).optional().nullable(),
    })
    .optional()
    .nullable(),
});
/** Naver `/v1/nid/me`: `{ resultcode: '00', message, response: { id, email, nickname } }`. */
const naver = z.object({
  resultcode: z.literal('00'),
  response: z.object({ id, email, nickname: name, name }),
});

const lower = (e: string | null | undefined) => (e ? e.toLowerCase() : null);

/**
 * Maps a provider's userinfo JSON to a SocialProfile, or throws when it does not have the shape
 * that provider documents. Provider answers are input like any other.
 */
export function mapUserinfo(provider: SocialProvider, body: unknown): SocialProfile {
  switch (provider) {
    case 'google': {
      const g = google.parse(body);
      return { provider, id: g.sub, email: g.email_verified === true ? lower(g.email) : null, name: g.name ?? null };
    }
    case 'kakao': {
      const k = kakao.parse(body);
      const account = k.kakao_account ?? {};
      const verified = account.is_email_valid === true && account.is_email_verified === true;
      return { provider, id: k.id, email: verified ? lower(account.email) : null, name: account.profile?.nickname ?? null };
    }
    case 'naver': {
      const n = naver.parse(body).response;
      // Naver hands out the account's own address, which Naver has verified.
      return { provider, id: n.id, email: lower(n.email), name: n.nickname ?? n.name ?? null };
    }
  }
}
