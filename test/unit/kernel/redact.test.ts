import { Writable } from 'node:stream';
import { expect } from 'chai';
import bunyan from 'bunyan';
import { REDACTED, TRUNCATED, redact, redactUrl } from '../../../kernel/redact.js';
import { createLogger } from '../../../kernel/logger.js';

describe('log redaction', () => {
  it('when a record carries credentials, codes or diary text at any depth, then they are replaced', () => {
    const out = redact({
      user: { email: 'a@b.c', password: 'hunter2', nested: { refreshToken: 'r', accessToken: 'a' } },
      headers: { authorization: 'Bearer x', cookie: 'sid=1', 'user-agent': 'ua' },
      body: { content: 'dear diary', title: 'secret day', code: '123456' },
    }) as Record<string, Record<string, unknown>>;
    expect(out.user).to.deep.equal({ email: 'a@b.c', password: REDACTED, nested: { refreshToken: REDACTED, accessToken: REDACTED } });
    expect(out.headers).to.deep.equal({ authorization: REDACTED, cookie: REDACTED, 'user-agent': 'ua' });
    expect(out.body).to.deep.equal({ content: REDACTED, title: REDACTED, code: REDACTED });
  });

  it('when a record nests deeper than the redactor walks, then the deep part is cut off, not logged unexamined', () => {
    let deep: Record<string, unknown> = { password: 'hunter2', content: 'dear diary' };
    for (let i = 0; i < 12; i++) deep = { level: deep };
    const line = JSON.stringify(redact(deep));
    expect(line).to.not.include('hunter2');
    expect(line).to.not.include('dear diary');
    expect(line).to.include(TRUNCATED);
  });

  it('when a record carries dates and errors, then they pass through unchanged', () => {
    const at = new Date('2026-01-02T03:04:05Z');
    const err = new Error('boom');
    const out = redact({ time: at, err, nested: { at } }) as Record<string, unknown>;
    expect(out.time).to.equal(at);
    expect(out.err).to.equal(err);
    expect((out.nested as { at: Date }).at).to.equal(at);
  });

  it('when a URL carries an OAuth code, state or token, then the values are replaced', () => {
    expect(redactUrl('/cb?code=abc&state=xyz&page=2')).to.equal('/cb?code=%5BREDACTED%5D&state=%5BREDACTED%5D&page=2');
  });

  it('when the logger writes a record, then the JSON line contains no secret', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ app: { name: 't', instanceId: 'i', publicUrl: 'http://x' }, log: { level: 'info', rotatePeriod: '1d', rotateCount: 1 } });
    // Swap the stdout stream for the sink, keeping the redacting raw stream in front of it.
    const raw = (log as unknown as { streams: Array<{ stream: { out: NodeJS.WritableStream } }> }).streams[0]!.stream;
    raw.out = sink;
    log.info({ body: { password: 'pw-123', content: 'private text' }, req: { url: '/x?token=t0k', headers: { authorization: 'Bearer abc' } } }, 'hello');
    expect(lines).to.have.length(1);
    const line = lines[0]!;
    for (const secret of ['pw-123', 'private text', 't0k', 'Bearer abc']) expect(line).not.to.include(secret);
    const record = JSON.parse(line) as { msg: string; level: number; time: string };
    expect(record).to.include({ msg: 'hello', level: bunyan.INFO });
    expect(new Date(record.time).getTime()).to.be.closeTo(Date.now(), 5_000);
  });
});
