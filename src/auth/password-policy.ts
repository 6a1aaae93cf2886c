import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FieldProblem } from '../platform/errors.js';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

// The list ships beside this file in src/; a compiled build (dist/src/auth) reads it from the sources.
const CANDIDATES = ['./data/common-passwords.txt', '../../../src/auth/data/common-passwords.txt'];

let common: Set<string> | undefined;

/** The shipped list of common passwords, read once. Lines starting with `#` are comments. */
export function commonPasswords(): Set<string> {
  if (common) return common;
  const file = CANDIDATES.map((c) => fileURLToPath(new URL(c, import.meta.url))).find((f) => existsSync(f));
  if (!file) throw new Error('common-passwords.txt not found beside src/auth/password-policy');
  common = new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.trim().toLowerCase())
      .filter((line) => line && !line.startsWith('#')),
  );
  return common;
}

/**
 * The password rules of §8: 10–128 characters (counted as code points), not the account's email
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
