import { expect } from 'chai';
import { decryptSecret } from '../../../config/index.js';
import { runCli as cli } from '../../harness/processes.js';

describe('the CLI', function () {
  this.timeout(30_000);

  it('when config:encrypt reads a secret on stdin, then it prints an ENC() value that decrypts back with the master password', async () => {
    const res = await cli(['config:encrypt'], { CONFIG_MASTER_PASSWORD: 'a-long-master-password' }, 'jwt-secret-value-0123456789-abcdefghijk\n');
    expect(res.code).to.equal(0);
    const value = res.stdout.trim();
    expect(value).to.match(/^ENC\(v1\.[A-Za-z0-9_.-]+\)$/);
    expect(value).not.to.include('jwt-secret-value');
    expect(decryptSecret(value, 'a-long-master-password')).to.equal('jwt-secret-value-0123456789-abcdefghijk');
  });

  it('when config:encrypt has no master password, then it exits 2 with one line', async () => {
    const res = await cli(['config:encrypt'], {}, 'secret');
    expect(res.code).to.equal(2);
    expect(res.stderr.trim()).to.equal('config:encrypt: CONFIG_MASTER_PASSWORD is not set');
  });

  it('when the api starts with a required value missing or a wrong master password, then it stops with one line naming the key and no secret', async () => {
    const base = { APP_PROFILE: 'production', MARIADB_URL: 'mariadb://u:p@127.0.0.1:1/db', MONGO_URL: 'mongodb://127.0.0.1:1/db', REDIS_URL: 'redis://127.0.0.1:1', KAFKA_BROKERS: '127.0.0.1:1' };
    const missing = await cli(['api'], base);
    expect(missing.code).to.equal(2);
    expect(missing.stderr.trim().split('\n')).to.deep.equal(['config: auth.jwt.secret: is required']);

    const encrypted = (await cli(['config:encrypt'], { CONFIG_MASTER_PASSWORD: 'the-right-master-password' }, 'the-jwt-secret-0123456789-abcdefghijklmn')).stdout.trim();
    const wrong = await cli(['api'], { ...base, JWT_SECRET: encrypted, CONFIG_MASTER_PASSWORD: 'a-wrong-master-password' });
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr.trim()).to.equal('config: auth.jwt.secret: cannot decrypt (wrong CONFIG_MASTER_PASSWORD or corrupted value)');
    expect(wrong.stderr + wrong.stdout).not.to.include('the-jwt-secret');
  });

  it('when an unknown command is given, then it exits 2 and prints the usage', async () => {
    const res = await cli(['frobnicate'], {});
    expect(res.code).to.equal(2);
    expect(res.stderr).to.match(/unknown command: frobnicate/);
    expect(res.stderr).to.include('usage: emotion-diary');
  });
});
