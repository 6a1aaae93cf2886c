#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, runEncryptCommand } from '../config/index.js';
import { createApiApp } from './app.js';
import { runBackupCommand } from './cli/backup-command.js';
import { runMigrate, type MigrateAction } from './cli/migrate-command.js';
import { runRestoreCommand } from './cli/restore-command.js';
import { runTrainingExportCommand } from './cli/training-export-command.js';
import { createKafka } from '../kernel/clients/kafka.js';
import { topicNames } from '../kernel/contracts/analysis-events.js';
import { createLogger } from '../kernel/logger.js';
import { replayDeadLetters } from '../workers/dlq-replay.js';
import { createWorkerApp } from '../workers/worker-app.js';

const USAGE = `usage: emotion-diary <command>
  api                      run the REST + Socket.IO server
  worker                   run the Kafka emotion worker
  migrate [up|down|status] apply, revert one, or list MariaDB migrations (and Mongo indexes)
  config:encrypt           read a secret on stdin, print ENC(...) (needs CONFIG_MASTER_PASSWORD)
  backup                   write a timestamped backup archive of MariaDB and MongoDB
  restore <archive>        restore an archive into empty stores
  dlq:replay [--limit N]   re-queue dead-lettered analysis requests
  training:export [--out FILE]  thought-record corrections of users who opted in, as JSON Lines`;

interface Runnable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs a long-lived process until SIGTERM/SIGINT (or a fatal error inside it), then stops it
 * gracefully. A second signal while stopping forces the exit; a signal that arrives with the first
 * (a terminal's Ctrl-C reaches the whole process group, and a supervisor may send TERM as well)
 * within a second is not a second request.
 */
async function runUntilSignalled(build: (onFatal: (err: Error) => void) => Promise<Runnable>, log: ReturnType<typeof createLogger>): Promise<void> {
  let stopping: number | undefined;
  const shutdown = (reason: string, code: number) => {
    if (stopping !== undefined) {
      if (Date.now() - stopping < 1_000) return;
      log.warn({ reason }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = Date.now();
    log.info({ reason }, 'shutting down');
    app.stop().then(
      () => process.exit(code),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const app = await build(() => shutdown('fatal error', 1));
  process.on('SIGTERM', () => shutdown('SIGTERM', 0));
  process.on('SIGINT', () => shutdown('SIGINT', 0));
  await app.start();
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'config:encrypt') {
    process.stdout.write(`${await runEncryptCommand()}\n`);
    return;
  }
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig();
  const log = createLogger(config, command);
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

  switch (command) {
    case 'api': {
      await runUntilSignalled((onFatal) => createApiApp(config, { log, onFatal }), log);
      return;
    }
    case 'worker': {
      await runUntilSignalled((onFatal) => createWorkerApp(config, { log, onFatal }), log);
      return;
    }
    case 'dlq:replay': {
      const { values } = parseArgs({ args: rest, options: { limit: { type: 'string', default: '1000' }, 'include-invalid': { type: 'boolean', default: false } } });
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new ConfigError('dlq:replay: --limit must be a positive integer');
      const result = await replayDeadLetters(
        { kafka: createKafka(config, log), topics: topicNames(config.kafka.topicPrefix), log, groupPrefix: config.kafka.topicPrefix },
        { limit, includeInvalid: values['include-invalid'] },
      );
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    case 'migrate': {
      const action = (rest[0] ?? 'up') as MigrateAction;
      if (!['up', 'down', 'status'].includes(action)) throw new ConfigError(`migrate: unknown action ${action}`);
      const result = await runMigrate(config, log, action);
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    case 'backup': {
      await runBackupCommand(config, log, rest);
      return;
    }
    case 'restore': {
      await runRestoreCommand(config, log, rest);
      return;
    }
    case 'training:export': {
      await runTrainingExportCommand(config, rest);
      return;
    }
    default: {
      const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false });
      throw new ConfigError(`unknown command: ${positionals[0]}\n${USAGE}`);
    }
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
