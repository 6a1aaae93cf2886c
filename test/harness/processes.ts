import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppConfig } from '../../config/index.js';
import { testRootDir } from './services.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface AppProcess {
  name: string;
  child: ChildProcess;
  /** SIGKILL: the process dies without any shutdown (crash, OOM kill). */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown. */
  stop(): Promise<void>;
}

/** The variables that point a child process at the same Redis (one server or a cluster) with the same key prefix. */
export function redisEnv(config: AppConfig): Record<string, string> {
  const target: Record<string, string> =
    config.redis.clusterNodes.length > 0 ? { REDIS_CLUSTER_NODES: config.redis.clusterNodes.join(',') } : { REDIS_URL: config.redis.url! };
  return { ...target, REDIS_KEY_PREFIX: config.redis.keyPrefix };
}

/** The environment that makes a child process load the same configuration as `config`. */
export function envFor(config: AppConfig, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    APP_PROFILE: 'test',
    MARIADB_URL: config.mariadb.url,
    MONGO_URL: config.mongo.url,
    ...redisEnv(config),
    KAFKA_BROKERS: config.kafka.brokers.join(','),
    KAFKA_TOPIC_PREFIX: config.kafka.topicPrefix,
    JWT_SECRET: config.auth.jwt.secret,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    ...extra,
  };
}

/**
 * Runs `src/main.ts <command>` as a real child process (what production runs, minus the build),
 * logging to the test's log directory.
 */
export function spawnApp(name: string, command: string, env: NodeJS.ProcessEnv): AppProcess {
  const log = createWriteStream(path.join(testRootDir(), 'logs', `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  process.once('exit', () => child.kill('SIGKILL'));
  return { name, child, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

/** Runs the CLI (`src/main.ts`) to completion with only the given environment (plus PATH and HOME). */
export function runCli(args: string[], env: Record<string, string>, stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** This process's environment without the given variables, plus `extra` (for commands the tests run as a user would). */
export function environmentWithout(names: string[], extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of names) delete env[name];
  return env;
}
