import { hash, verify, type Algorithm } from '@node-rs/argon2';
import type { AppConfig } from '../../config/index.js';

/** argon2id (`Algorithm.Argon2id`; the enum is `const` in the typings, so its value is spelled out). */
const ARGON2ID = 2 as Algorithm;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password or an unreadable hash; never throws for bad input. */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /**
   * Spends the same time as a real verification, for requests naming an account that does not
   * exist (or has no password), so response time does not tell whether the account exists.
   */
  verifyNothing(password: string): Promise<void>;
}

export function createPasswordHasher(config: AppConfig['auth']['argon2']): PasswordHasher {
  const options = { algorithm: ARGON2ID, memoryCost: config.memoryKiB, timeCost: config.timeCost, parallelism: config.parallelism };
  let dummyHash: Promise<string> | undefined;
  const hasher: PasswordHasher = {
    hash: (password) => hash(password, options),
    async verify(passwordHash, password) {
      try {
        return await verify(passwordHash, password);
      } catch {
        return false;
      }
    },
    async verifyNothing(password) {
      dummyHash ??= hash('not-a-real-password-0123456789', options);
      await hasher.verify(await dummyHash, password);
    },
  };
  return hasher;
}
