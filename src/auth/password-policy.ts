// A JSON module (not a .txt read from disk) so the compiled build carries it into dist/ too.
import list from './data/common-passwords.json' with { type: 'json' };
import type { FieldProblem } from '../../kernel/errors.js';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

let common: Set<string> | undefined;

/** The shipped list of common passwords (see `about` in the data file), lower-cased, built once. */
export function commonPasswords(): Set<string> {
  common ??= new Set(list.passwords.map((p) => p.toLowerCase()));
  return common;
}

/**
 * The password rules: 10–128 characters (counted as code points), not the account's email
 * or username (case-insensitive), not in the common-password list. Returns the problems found,
 * each under `path` so the HTTP answer names the field.
 */
export function checkPassword(password: string, context: { email?: string | null; username?: string | null }, path = 'body.password'): FieldProblem[] {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return [{ path, message: `must be at least ${PASSWORD_MIN_LENGTH} characters` }];
  if (length > PASSWORD_MAX_LENGTH) return [{ path, message: `must be at most ${PASSWORD_MAX_LENGTH} characters` }];
  const lower = password.toLowerCase();
  const identities = [context.email, context.email?.split('@')[0], context.username].filter((v): v is string => !!v).map((v) => v.toLowerCase());
  if (identities.includes(lower)) return [{ path, message: 'must not be your email address or username' }];
  if (commonPasswords().has(lower)) return [{ path, message: 'is too common; choose a less guessable password' }];
  return [];
}
