import bunyan from 'bunyan';
import { createStream } from 'rotating-file-stream';
import path from 'node:path';
import type { AppConfig } from '../config/index.js';
import { redact, redactUrl } from './redact.js';

export type Logger = bunyan;

interface HttpRequestLike {
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
}

const serializers: bunyan.Serializers = {
  err: bunyan.stdSerializers.err,
  req: (req: HttpRequestLike) => ({ method: req.method, url: req.url ? redactUrl(req.url) : undefined, headers: redact(req.headers) }),
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
};

/**
 * A bunyan raw stream that deep-redacts every record before it is written, so a careless
 * `log.info({ body })` cannot leak a password, token, code or diary text.
 */
class RedactingStream {
  constructor(private readonly out: NodeJS.WritableStream) {}
  write(record: object): void {
    const { err, ...rest } = record as Record<string, unknown>;
    const safe = redact(rest) as Record<string, unknown>;
    if (err !== undefined) safe.err = err;
    this.out.write(`${JSON.stringify(safe)}\n`);
  }
}

export function createLogger(config: Pick<AppConfig, 'app' | 'log'>, component = 'main'): Logger {
  const out: NodeJS.WritableStream = config.log.file
    ? createStream(path.basename(config.log.file), {
        path: path.dirname(config.log.file),
        interval: config.log.rotatePeriod as never,
        maxFiles: config.log.rotateCount,
        compress: 'gzip',
      })
    : process.stdout;
  return bunyan.createLogger({
    name: config.app.name,
    instance: config.app.instanceId,
    component,
    level: config.log.level,
    serializers,
    streams: [{ type: 'raw', level: config.log.level, stream: new RedactingStream(out) as unknown as NodeJS.WritableStream }],
  });
}
