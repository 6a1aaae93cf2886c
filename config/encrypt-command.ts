import { encryptSecret } from './secrets.js';
import { ConfigError, type Env } from './load-config.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * `config:encrypt`: reads a secret from stdin (so it stays out of shell history and `ps`) and
 * prints its ENC(...) form, encrypted with CONFIG_MASTER_PASSWORD.
 */
export async function runEncryptCommand(env: Env = process.env): Promise<string> {
  const master = env.CONFIG_MASTER_PASSWORD;
  if (!master) throw new ConfigError('config:encrypt: CONFIG_MASTER_PASSWORD is not set');
  if (master.length < 12) throw new ConfigError('config:encrypt: CONFIG_MASTER_PASSWORD must be at least 12 characters');
  const plaintext = await readStdin();
  if (!plaintext) throw new ConfigError('config:encrypt: nothing to encrypt on stdin');
  return encryptSecret(plaintext, master);
}
