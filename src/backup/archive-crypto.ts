import { createCipheriv, createDecipheriv, randomBytes, scrypt, type BinaryLike, type ScryptOptions } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { BackupError } from './manifest.js';

/**
 * Encrypted archives: MAGIC | salt (16) | iv (12) | AES-256-GCM ciphertext of the .tar.gz | tag (16).
 * The key is derived from backup.encryptionKey (any passphrase) with scrypt and a fresh salt, so one
 * passphrase never reuses a key/iv pair. The tag makes a wrong key or a tampered file fail as a whole.
 */
const MAGIC = Buffer.from('EDBKENC1');
const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + SALT_BYTES + IV_BYTES;
const SCRYPT: ScryptOptions = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function deriveKey(passphrase: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(passphrase.normalize('NFKC') as BinaryLike, salt, 32, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Streams `source` (the gzipped tar) into `target`, encrypted. */
export async function encryptToFile(source: AsyncIterable<Buffer | string>, target: string, passphrase: string): Promise<void> {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(passphrase, salt), iv);
  await pipeline(
    source,
    async function* (chunks: AsyncIterable<Buffer | string>) {
      yield Buffer.concat([MAGIC, salt, iv]);
      for await (const chunk of chunks) yield cipher.update(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      yield cipher.final();
      yield cipher.getAuthTag();
    },
    createWriteStream(target, { mode: 0o600 }),
  );
}

export async function isEncryptedArchive(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, MAGIC.length, 0);
    return bytesRead === MAGIC.length && head.equals(MAGIC);
  } finally {
    await handle.close();
  }
}

/**
 * Decrypts an archive into `target`. The plaintext is only trusted once GCM has verified the tag at
 * the end; on failure `target` is removed and a BackupError says why, without detail an attacker could use.
 */
export async function decryptToFile(file: string, target: string, passphrase: string): Promise<void> {
  const { size } = await stat(file);
  if (size < HEADER_BYTES + TAG_BYTES) throw new BackupError('the archive is truncated');
  const handle = await open(file, 'r');
  const header = Buffer.alloc(HEADER_BYTES);
  const tag = Buffer.alloc(TAG_BYTES);
  try {
    await handle.read(header, 0, HEADER_BYTES, 0);
    await handle.read(tag, 0, TAG_BYTES, size - TAG_BYTES);
  } finally {
    await handle.close();
  }
  const salt = header.subarray(MAGIC.length, MAGIC.length + SALT_BYTES);
  const iv = header.subarray(MAGIC.length + SALT_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', await deriveKey(passphrase, salt), iv);
  decipher.setAuthTag(tag);
  try {
    await pipeline(createReadStream(file, { start: HEADER_BYTES, end: size - TAG_BYTES - 1 }), decipher, createWriteStream(target, { mode: 0o600 }));
  } catch (err) {
    await rm(target, { force: true });
    throw new BackupError('cannot decrypt the archive: wrong backup.encryptionKey or a corrupted file', { cause: err });
  }
}
