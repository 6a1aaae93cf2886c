import { createTransport } from 'nodemailer';
import type { AppConfig } from '../../config/index.js';
import type { Logger } from '../logger.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** Outgoing mail. Services depend on this port, never on nodemailer. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/**
 * SMTP through nodemailer, or — in the development and test profiles only (the config schema
 * refuses it elsewhere) — a transport that writes the message to the log. That log line is the
 * one place in the code base where a one-time code may appear in a log, which is why its body
 * travels under a key the log redaction does not know.
 */
export function createMailer(config: Pick<AppConfig, 'mail' | 'profile'>, log: Logger): Mailer {
  const mailLog = log.child({ component: 'mailer' });
  if (config.mail.transport === 'log') {
    if (config.profile !== 'development' && config.profile !== 'test') throw new Error(`mail.transport 'log' is not allowed in the ${config.profile} profile`);
    return {
      async send(message) {
        mailLog.info({ mailTo: message.to, subject: message.subject, mailBody: message.text }, 'mail (log transport, not sent)');
      },
      close() {},
    };
  }

  const { smtp } = config.mail;
  const transport = createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    async send(message) {
      const started = Date.now();
      await transport.sendMail({ from: config.mail.from, to: message.to, subject: message.subject, text: message.text, html: message.html });
      mailLog.info({ subject: message.subject, durationMs: Date.now() - started }, 'mail sent');
    },
    close() {
      transport.close();
    },
  };
}
