import { z } from 'zod';

/** Request and response shapes of the auth routes; the same schemas validate and document. */

export const emailSchema = z.string().trim().toLowerCase().max(254).pipe(z.email({ message: 'must be an email address' }));
/** Letters, digits, `_`, `.`, `-`; never `@`, which is how login tells an email from a username. */
export const usernameSchema = z.string().regex(/^[A-Za-z0-9_.-]{3,32}$/, 'must be 3–32 letters, digits, _ . or -');
export const nicknameSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');
/** The policy (10–128 characters, not common, not your name) is checked by the service; this only bounds the work. */
export const newPasswordSchema = z.string().min(1).max(512);
export const codeSchema = z.string().regex(/^\d{6}$/, 'must be a 6-digit code');
export const refreshTokenSchema = z.string().min(1).max(512);

export const registerBody = z
  .object({ email: emailSchema, username: usernameSchema, password: newPasswordSchema, nickname: nicknameSchema })
  .strict();
export const verifyEmailBody = z.object({ email: emailSchema, code: codeSchema }).strict();
export const emailOnlyBody = z.object({ email: emailSchema }).strict();
export const loginBody = z
  .object({
    /** Email address or username. */
    identifier: z.string().trim().min(1).max(254),
    password: z.string().min(1).max(512),
  })
  .strict();
export const refreshBody = z.object({ refreshToken: refreshTokenSchema }).strict();
export const logoutBody = z.object({ refreshToken: refreshTokenSchema.optional() }).strict();
export const resetPasswordBody = z.object({ email: emailSchema, code: codeSchema, newPassword: newPasswordSchema }).strict();

export const tokenPairSchema = z
  .object({
    tokenType: z.literal('Bearer'),
    accessToken: z.string(),
    expiresIn: z.number().int(),
    refreshToken: z.string(),
    refreshExpiresAt: z.iso.datetime(),
    sessionId: z.string(),
  })
  .meta({ id: 'TokenPair' });

export const registeredSchema = z.object({
  id: z.string(),
  email: z.string(),
  username: z.string(),
  status: z.literal('WAITING'),
});
export const acceptedSchema = z.object({ status: z.literal('accepted') });
export const verifiedSchema = z.object({ status: z.literal('ACTIVE') });
