import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
}

export interface SmtpCapture {
  port: number;
  /** Every message received so far, oldest first. */
  messages: CapturedMail[];
  /** Config overrides that point an app's mailer at this server. */
  configOverrides(): { mail: { transport: 'smtp'; smtp: { host: string; port: number; secure: false } } };
  /** The oldest message to `to` (matching `subject`) not taken before; waits for it up to `timeoutMs`. */
  take(to: string, subject?: RegExp, timeoutMs?: number): Promise<CapturedMail>;
  /** `take`, then the 6-digit code in the message. */
  takeCode(to: string, subject?: RegExp, timeoutMs?: number): Promise<string>;
  /** Whether a message to `to` arrives within `ms` (for "no mail is sent" checks). */
  receivesWithin(to: string, ms: number, subject?: RegExp): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * A real SMTP server on 127.0.0.1 (smtp-server) that parses every message with mailparser and
 * keeps it in memory. No TLS and no AUTH are offered, so nodemailer talks plain SMTP to it.
 */
export async function startSmtpCapture(): Promise<SmtpCapture> {
  const messages: CapturedMail[] = [];
  const taken = new Set<CapturedMail>();
  const waiters = new Set<() => void>();

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          const to = (Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : []).flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
          messages.push({ to, from: parsed.from?.text ?? '', subject: parsed.subject ?? '', text: parsed.text ?? '' });
          for (const wake of waiters) wake();
          callback();
        },
        (err: Error) => callback(err),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;

  const find = (to: string, subject?: RegExp) =>
    messages.find((m) => !taken.has(m) && m.to.includes(to.toLowerCase()) && (!subject || subject.test(m.subject)));

  const capture: SmtpCapture = {
    port,
    messages,
    configOverrides: () => ({ mail: { transport: 'smtp', smtp: { host: '127.0.0.1', port, secure: false } } }),
    async take(to, subject, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = find(to, subject);
        if (found) {
          taken.add(found);
          return found;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no mail to ${to}${subject ? ` matching ${subject}` : ''} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, left);
          waiters.add(wake);
        });
      }
    },
    async takeCode(to, subject, timeoutMs) {
      const mail = await capture.take(to, subject, timeoutMs);
      const code = /\b(\d{6})\b/.exec(mail.text)?.[1];
      if (!code) throw new Error(`mail to ${to} carries no 6-digit code`);
      return code;
    },
    async receivesWithin(to, ms, subject) {
      try {
        await capture.take(to, subject, ms);
        return true;
      } catch {
        return false;
      }
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return capture;
}
