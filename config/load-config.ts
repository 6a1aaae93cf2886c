import type { z } from 'zod';
import { baseDefaults } from './defaults.js';
import development from './profiles/development.json' with { type: 'json' };
import production from './profiles/production.json' with { type: 'json' };
import staging from './profiles/staging.json' with { type: 'json' };
import test from './profiles/test.json' with { type: 'json' };
import { configSchema, type AppConfig } from './schema.js';
import { SecretDecryptionError, decryptSecret, isEncrypted } from './secrets.js';

export type ProfileName = AppConfig['profile'];
export type Env = Record<string, string | undefined>;

/** A configuration problem. Its message is one line naming the key; it never contains a value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const PROFILES: Record<ProfileName, object> = { development, test, staging, production };

/** Conventional variables, documented in the README, mapped to config paths. */
export const ENV_ALIASES: Readonly<Record<string, string>> = {
  PORT: 'http.port',
  HOST: 'http.host',
  PUBLIC_URL: 'app.publicUrl',
  INSTANCE_ID: 'app.instanceId',
  LOG_LEVEL: 'log.level',
  LOG_FILE: 'log.file',
  MARIADB_URL: 'mariadb.url',
  MARIADB_REPLICA_URL: 'mariadb.replica.url',
  MONGO_URL: 'mongo.url',
  REDIS_URL: 'redis.url',
  REDIS_KEY_PREFIX: 'redis.keyPrefix',
  REDIS_CLUSTER_NODES: 'redis.clusterNodes',
  KAFKA_BROKERS: 'kafka.brokers',
  KAFKA_TOPIC_PREFIX: 'kafka.topicPrefix',
  JWT_SECRET: 'auth.jwt.secret',
  METRICS_PORT: 'metrics.port',
  EMBEDDING_URL: 'worker.embedding.url',
};

/** Prefix of the generic override form: APP__AUTH__JWT__ACCESS_TTL_SEC=600 sets auth.jwt.accessTtlSec. */
const GENERIC_PREFIX = 'APP__';

export function resolveProfile(env: Env): ProfileName {
  const name = env.APP_PROFILE ?? (env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development');
  if (!(name in PROFILES)) throw new ConfigError(`config: APP_PROFILE must be one of ${Object.keys(PROFILES).join(', ')}`);
  return name as ProfileName;
}

/**
 * Builds the configuration: schema defaults < profile file < environment < explicit overrides,
 * then decrypts ENC(...) values with CONFIG_MASTER_PASSWORD and validates everything once.
 * Throws ConfigError with a single line naming the offending key.
 */
export function loadConfig(env: Env = process.env, overrides: Record<string, unknown> = {}): AppConfig {
  const profile = resolveProfile(env);
  const raw = [PROFILES[profile], envOverrides(env), overrides].reduce<Record<string, unknown>>(
    (acc, layer) => deepMerge(acc, layer as Record<string, unknown>),
    { ...baseDefaults(), profile },
  );
  const decrypted = decryptTree(raw, env.CONFIG_MASTER_PASSWORD, []);
  const result = configSchema.safeParse(decrypted);
  if (!result.success) throw new ConfigError(`config: ${describeIssues(result.error.issues)}`);
  return result.data;
}

function envOverrides(env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    const path = ENV_ALIASES[name] ?? (name.startsWith(GENERIC_PREFIX) ? genericPath(name) : undefined);
    if (path) setPath(out, path.split('.'), value);
  }
  return out;
}

function genericPath(name: string): string {
  return name
    .slice(GENERIC_PREFIX.length)
    .split('__')
    .map((segment) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()))
    .join('.');
}

function decryptTree(node: unknown, masterPassword: string | undefined, path: string[]): unknown {
  if (isEncrypted(node)) {
    const key = path.join('.');
    if (!masterPassword) throw new ConfigError(`config: ${key} is ENC(...) but CONFIG_MASTER_PASSWORD is not set`);
    try {
      return decryptSecret(node, masterPassword);
    } catch (err) {
      const reason = err instanceof SecretDecryptionError ? err.message : 'cannot decrypt';
      throw new ConfigError(`config: ${key}: ${reason}`);
    }
  }
  if (Array.isArray(node)) return node.map((item, i) => decryptTree(item, masterPassword, [...path, String(i)]));
  if (isPlainObject(node)) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, decryptTree(v, masterPassword, [...path, k])]));
  }
  return node;
}

function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const key = issue.path.join('.') || '(root)';
      if (issue.code === 'unrecognized_keys') return `${key ? `${key}: ` : ''}unknown key(s) ${issue.keys.join(', ')}`;
      // Zod's "received undefined" is the common case of a missing value; say so plainly.
      const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
      return `${key}: ${missing ? 'is required' : issue.message}`;
    })
    .join('; ');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, layer: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(layer)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    if (!isPlainObject(node[segment])) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
