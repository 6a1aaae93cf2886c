import { z } from 'zod';
import { requiredText } from '../http/field-schemas.js';

/** Request and response shapes of the auth routes; the same schemas validate and document. */

/**
 * Surrounding whitespace is dropped and the address lowercased before it is checked. The document
 * says the same (a JSON Schema cannot describe a transform): the length bounds the raw value, the
 * pattern is zod's email pattern with the whitespace the API trims allowed around it.
 */
export const emailSchema = z
  .string()
  .max(254)
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: 'must be an email address' }))
  .meta({ pattern: `^\\s*${z.regexes.email.source.slice(1, -1)}\\s*$` });
/** Letters, digits, `_`, `.`, `-`; never `@`, which is how login tells an email from a username. */
export const usernameSchema = z.string().regex(/^[A-Za-z0-9_.-]{3,32}$/, 'must be 3–32 letters, digits, _ . or -');
/**
 * At most 64 characters, at least one of them not whitespace, none a control character (Unicode
 * Cc: U+0000-U+001F and U+007F-U+009F, spelled out so other regex engines, the fuzzer's among
 * them, read the documented pattern alike); surrounding whitespace is then dropped.
 */
export const nicknameSchema = z
  .string()
  .max(64)
  // eslint-disable-next-line no-control-regex -- it names the control characters it refuses
  .regex(/^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$/, 'must have a visible character and no control characters')
  .trim();
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
    identifier: requiredText(254),
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
