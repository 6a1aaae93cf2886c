import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { AppConfig } from '../../../config/index.js';
import { createLogger, type Logger } from '../../../kernel/logger.js';
import { waitUntil } from '../../../kernel/wait.js';

type LogConfig = Pick<AppConfig, 'app' | 'log'>;

function logConfig(log: Partial<AppConfig['log']>): LogConfig {
  return { app: { name: 'emotion-diary', instanceId: 'test-1', publicUrl: 'http://127.0.0.1:3000' }, log: { level: 'info', rotatePeriod: '1d', rotateCount: 14, ...log } };
}

/** The writable behind the logger's redacting raw stream (read only to check how it was built). */
function destination(log: Logger): unknown {
  const streams = (log as unknown as { streams: Array<{ stream: { out: unknown } }> }).streams;
  return streams[0]?.stream.out;
}

/** What `read` returns once it stops throwing or returning undefined (the file is written asynchronously). */
const eventually = <T>(read: () => T | undefined, timeoutMs = 5_000): Promise<T> =>
  waitUntil(
    'log output',
    () => {
      try {
        return read();
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );

describe('logger output (stdout by default, rotating file as an option)', function () {
  this.timeout(10_000);
  let dir: string;
  let opened: Logger[] = [];

  /** A file logger that is closed after the test, so no rotation timer outlives it. */
  function fileLogger(log: Partial<AppConfig['log']>, component?: string): Logger {
    const logger = createLogger(logConfig(log), component);
    opened.push(logger);
    return logger;
  }

  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'emotion-diary-logs-'));
  });

  afterEach(async function () {
    await Promise.all(
      opened.map((log) => new Promise<void>((resolve) => (destination(log) as NodeJS.WritableStream).end(() => resolve()))),
    );
    opened = [];
    rmSync(dir, { recursive: true, force: true });
  });

  it('when no log file is configured, then records go to stdout', function () {
    expect(destination(createLogger(logConfig({})))).to.equal(process.stdout);
  });

  it('when log.file is set, then JSON records land in that file, redacted', async function () {
    const file = path.join(dir, 'api.log');
    const log = fileLogger({ file }, 'file-test');
    log.info({ userId: '42', password: 'hunter2' }, 'hello file');
    const line = await eventually(() => readFileSync(file, 'utf8').split('\n').find((l) => l.includes('hello file')));
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record).to.include({ msg: 'hello file', component: 'file-test', instance: 'test-1', userId: '42' });
    expect(line).to.not.include('hunter2');
  });

  it('when log.file is set, then the rotation period, the number of kept files and gzip are passed to the rotating stream', function () {
    const log = fileLogger({ file: path.join(dir, 'api.log'), rotatePeriod: '12h', rotateCount: 7 });
    const options = (destination(log) as { options: { interval: { num: number; unit: string }; maxFiles: number; compress: string; path: string } }).options;
    expect(options.interval).to.deep.equal({ num: 12, unit: 'h' });
    expect(options.maxFiles).to.equal(7);
    expect(options.compress).to.equal('gzip');
    expect(path.resolve(options.path)).to.equal(dir);
  });

  it('when the rotation period passes, then the old file is rotated and gzipped and logging goes on in a fresh file', async function () {
    const file = path.join(dir, 'worker.log');
    const log = fileLogger({ file, rotatePeriod: '1s', rotateCount: 3 });
    // A rotation may come at any moment (every second boundary), so each line is looked for in the
    // live file and in every rotated one.
    const holding = (text: string) => () =>
      readdirSync(dir)
        .map((name) => {
          const content = readFileSync(path.join(dir, name));
          return { name, text: (name.endsWith('.gz') ? gunzipSync(content) : content).toString() };
        })
        .find((f) => f.text.includes(text));
    log.info('before rotation');
    const rotated = await eventually(() => {
      const found = holding('before rotation')();
      return found?.name.endsWith('worker.log.gz') ? found : undefined;
    });
    log.info('after rotation');
    const fresh = await eventually(holding('after rotation'));
    expect(fresh.name).to.not.equal(rotated.name);
    expect(fresh.text).to.not.include('before rotation');
  });
});
