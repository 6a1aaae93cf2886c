import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { decryptToFile, encryptToFile, isEncryptedArchive } from '../../../src/backup/archive-crypto.js';
import { BackupError } from '../../../src/backup/manifest.js';

describe('backup archive encryption (AES-256-GCM)', function () {
  let dir: string;
  const plaintext = randomBytes(300_000);

  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'emotion-diary-crypto-'));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  async function decryptError(file: string, key: string): Promise<unknown> {
    try {
      await decryptToFile(file, path.join(dir, 'out'), key);
    } catch (err) {
      return err;
    }
    throw new Error('expected decryption to fail');
  }

  it('when a stream is encrypted and decrypted with the same key, then the bytes come back', async function () {
    const enc = path.join(dir, 'a.enc');
    await encryptToFile(Readable.from([plaintext.subarray(0, 1000), plaintext.subarray(1000)]), enc, 'passphrase');
    expect(await isEncryptedArchive(enc)).to.equal(true);
    expect(readFileSync(enc).includes(plaintext.subarray(0, 64))).to.equal(false);
    await decryptToFile(enc, path.join(dir, 'out'), 'passphrase');
    expect(readFileSync(path.join(dir, 'out')).equals(plaintext)).to.equal(true);
  });

  it('when the key is wrong or a byte is flipped, then decryption fails with a BackupError and leaves no plaintext', async function () {
    const enc = path.join(dir, 'a.enc');
    await encryptToFile(Readable.from([plaintext]), enc, 'passphrase');
    const wrong = await decryptError(enc, 'other');
    expect(wrong).to.be.instanceOf(BackupError);
    expect(existsSync(path.join(dir, 'out'))).to.equal(false);
    const bytes = readFileSync(enc);
    bytes[100] = bytes[100]! ^ 1;
    writeFileSync(enc, bytes);
    expect(await decryptError(enc, 'passphrase')).to.be.instanceOf(BackupError);
  });

  it('when a file is a plain gzip archive, then it is not taken for an encrypted one', async function () {
    const plain = path.join(dir, 'a.tar.gz');
    writeFileSync(plain, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
    expect(await isEncryptedArchive(plain)).to.equal(false);
  });
});
