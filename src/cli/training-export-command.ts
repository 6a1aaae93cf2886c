import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { AppConfig } from '../../config/index.js';
import { createSequelize } from '../../kernel/clients/mariadb.js';
import { exportTrainingCorrections } from '../thought-records/training-export.js';

/**
 * `emotion-diary training:export [--out FILE]`: the thought-record corrections of the users who
 * opted in, as JSON Lines (`emotion-diary.thought-record-correction/v1`), to FILE (created
 * owner-only; it holds diary text) or stdout; a JSON summary on stderr. Nothing else is written to
 * stdout (no SQL logging here), so the stream can be piped into a trainer as it is.
 */
export async function runTrainingExportCommand(config: AppConfig, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } }, strict: true });
  const sequelize = createSequelize(config);
  const out = values.out ? createWriteStream(values.out, { flags: 'w', mode: 0o600 }) : process.stdout;
  try {
    const result = await exportTrainingCorrections(sequelize, out);
    if (values.out) {
      out.end();
      await finished(out);
    }
    process.stderr.write(`${JSON.stringify({ ...result, out: values.out ?? 'stdout' })}\n`);
  } finally {
    await sequelize.close();
  }
}
