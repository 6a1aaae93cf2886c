import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

/**
 * ENC(...) values: AES-256-GCM with a key derived from the master password by scrypt.
 * Layout: ENC(v1.<salt>.<iv>.<tag>.<ciphertext>), each part base64url. A fresh salt per value
 * means equal secrets never produce equal ciphertexts; the GCM tag makes a wrong password or a
 * tampered value fail loudly instead of decrypting to garbage.
 */
const VERSION = 'v1';
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const ENC_PATTERN = /^ENC\((.*)\)$/s;

export class SecretDecryptionError extends Error {}

const keyCache = new Map<string, Buffer>();

function deriveKey(password: string, salt: Buffer): Buffer {
  const cacheKey = `${salt.toString('base64url')}:${password}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = scryptSync(password.normalize('NFKC'), salt, 32, SCRYPT);
    keyCache.set(cacheKey, key);
  }
  return key;
}

export function isEncrypted(value: unknown): value is string {
  return typeof value === 'string' && ENC_PATTERN.test(value.trim());
}

export function encryptSecret(plaintext: string, masterPassword: string): string {
  if (!masterPassword) throw new Error('a master password is required');
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(masterPassword, salt), iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const parts = [salt, iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'));
  return `ENC(${[VERSION, ...parts].join('.')})`;
}

export function decryptSecret(value: string, masterPassword: string): string {
  const inner = ENC_PATTERN.exec(value.trim())?.[1];
  const parts = inner?.split('.') ?? [];
  if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretDecryptionError('malformed ENC() value');
  const [salt, iv, tag, ciphertext] = parts.slice(1).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer, Buffer];
  try {
    const decipher = createDecipheriv('aes-256-gcm', deriveKey(masterPassword, salt), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptionError('cannot decrypt (wrong CONFIG_MASTER_PASSWORD or corrupted value)');
  }
}
