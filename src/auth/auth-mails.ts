import type { MailMessage } from '../../kernel/clients/mailer.js';

const minutes = (sec: number) => Math.max(1, Math.round(sec / 60));

/** The mails the identity domain sends. Plain text: nothing to render, nothing to track. */
export const authMails = {
  verification(to: string, code: string, ttlSec: number): MailMessage {
    return {
      to,
      subject: 'Your Emotion Diary verification code',
      text: `Welcome to Emotion Diary.\n\nYour verification code is ${code}\n\nIt expires in ${minutes(ttlSec)} minutes. If you did not sign up, ignore this mail.\n`,
    };
  },
  passwordReset(to: string, code: string, ttlSec: number): MailMessage {
    return {
      to,
      subject: 'Your Emotion Diary password reset code',
      text: `Someone asked to reset the password of your Emotion Diary account.\n\nYour reset code is ${code}\n\nIt expires in ${minutes(ttlSec)} minutes. If this was not you, ignore this mail; your password stays as it is.\n`,
    };
  },
};
