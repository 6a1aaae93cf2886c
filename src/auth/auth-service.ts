import { createHash } from 'node:crypto';
import type { AppConfig } from '../../config/index.js';
import { AppError, ConflictError, ForbiddenError, RateLimitedError, UnauthorizedError, ValidationError } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/logger.js';
import type { Mailer, MailMessage } from '../../kernel/clients/mailer.js';
import type { RateLimiter } from '../../kernel/rate-limiter.js';
import { DuplicateUserError, type UserRepository } from '../users/user-repository.js';
import { authMails } from './auth-mails.js';
import { accountKey, type LoginThrottle } from './login-throttle.js';
import type { OneTimeCodes } from './one-time-codes.js';
import type { PasswordHasher } from './password-hasher.js';
import { checkPassword } from './password-policy.js';
import type { SessionService, TokenPair } from './session-service.js';

export interface RegisterInput {
  email: string;
  username: string;
  password: string;
  nickname: string;
}

export interface AuthServiceDeps {
  config: Pick<AppConfig['auth'], 'codes' | 'rateLimits'>;
  users: UserRepository;
  hasher: PasswordHasher;
  sessions: SessionService;
  verifyCodes: OneTimeCodes;
  resetCodes: OneTimeCodes;
  limiter: RateLimiter;
  throttle: LoginThrottle;
  mailer: Mailer;
  log: Logger;
  onUserChanged(userId: string): Promise<void>;
}

/** The one answer for every wrong, expired, used-up or unknown code, whoever the account is. */
const invalidCode = () => new AppError(400, 'invalid_code', 'The code is wrong or has expired; request a new one');
const invalidCredentials = () => new UnauthorizedError('Invalid credentials', 'invalid_credentials');
const digest = (value: string) => createHash('sha256').update(value.toLowerCase()).digest('base64url').slice(0, 22);

/**
 * Local accounts: sign-up with an emailed code, login by email or username, forgotten passwords.
 * Answers never tell whether an account exists beyond what sign-up must (a taken email or username).
 */
export function createAuthService(deps: AuthServiceDeps) {
  const { config, users, hasher, sessions, limiter, throttle } = deps;
  const { codes, rateLimits } = config;
  const ipRule = (limit: number) => ({ limit, windowSec: rateLimits.ipWindowSec });
  const log = deps.log.child({ component: 'auth' });

  /** Mail goes out in the background: the answer must not wait for (or time) the SMTP server. */
  function deliver(message: MailMessage, kind: string): void {
    deps.mailer.send(message).catch((err: unknown) => log.warn({ err, kind }, 'mail delivery failed'));
  }

  async function cooldown(key: string, seconds: number): Promise<{ allowed: boolean; retryAfterSec: number }> {
    if (seconds <= 0) return { allowed: true, retryAfterSec: 0 };
    return limiter.hit(key, { limit: 1, windowSec: seconds });
  }

  return {
    async register(input: RegisterInput, ip: string) {
      await limiter.consume(`register:ip:${ip}`, ipRule(rateLimits.registerPerIp));
      const problems = checkPassword(input.password, input);
      if (problems.length > 0) throw new ValidationError('Password does not meet the policy', problems);
      // A sign-up never verified within the code's lifetime does not hold its email or username hostage.
      await users.deleteAbandoned(input.email, input.username, new Date(Date.now() - codes.verificationTtlSec * 1000));
      if (await users.findByEmail(input.email)) throw new ConflictError('This email address is already registered', 'email_taken');
      if (await users.findByUsername(input.username)) throw new ConflictError('This username is taken', 'username_taken');

      const passwordHash = await hasher.hash(input.password);
      let user;
      try {
        user = await users.create({ email: input.email, username: input.username, nickname: input.nickname, passwordHash, status: 'WAITING' });
      } catch (err) {
        if (err instanceof DuplicateUserError && err.field === 'email') throw new ConflictError('This email address is already registered', 'email_taken');
        if (err instanceof DuplicateUserError && err.field === 'username') throw new ConflictError('This username is taken', 'username_taken');
        throw err;
      }
      const code = await deps.verifyCodes.issue(user.id);
      await cooldown(`resend:${digest(input.email)}`, codes.resendCooldownSec);
      deliver(authMails.verification(user.email!, code, codes.verificationTtlSec), 'verification');
      return { id: user.id, email: user.email!, username: user.username, status: user.status };
    },

    async verifyEmail(input: { email: string; code: string }, ip: string) {
      await limiter.consume(`code:ip:${ip}`, ipRule(rateLimits.codeAttemptsPerIp));
      const user = await users.findByEmail(input.email);
      if (!user || user.status !== 'WAITING') throw invalidCode();
      if ((await deps.verifyCodes.check(user.id, input.code)) !== 'ok') throw invalidCode();
      await users.update(user.id, { status: 'ACTIVE', emailVerifiedAt: new Date() });
      await deps.onUserChanged(user.id);
      return { status: 'ACTIVE' as const };
    },

    /** Same answer for every address; the cooldown is kept per address whether it has an account or not. */
    async resendCode(input: { email: string }, ip: string) {
      await limiter.consume(`resend:ip:${ip}`, ipRule(rateLimits.registerPerIp));
      const slot = await cooldown(`resend:${digest(input.email)}`, codes.resendCooldownSec);
      if (!slot.allowed) throw new RateLimitedError(slot.retryAfterSec, 'A code was sent recently; wait before asking again');
      const user = await users.findByEmail(input.email);
      if (user?.status === 'WAITING') {
        const code = await deps.verifyCodes.issue(user.id);
        deliver(authMails.verification(user.email!, code, codes.verificationTtlSec), 'verification');
      }
      return { status: 'accepted' as const };
    },

    /**
     * Wrong password and unknown account give the same 401 after the same work. Only a caller who
     * knows the password learns more: a WAITING account answers 403 `email_not_verified`, a blocked
     * one 403 `account_blocked`.
     */
    async login(input: { identifier: string; password: string }, ip: string): Promise<TokenPair> {
      const readAtMs = Date.now();
      const user = await users.findByLogin(input.identifier);
      const key = accountKey(user, input.identifier);
      const attempt = await throttle.attempt({ accountKey: key, userId: user?.id, ip });
      if (!user?.passwordHash) {
        await hasher.verifyNothing(input.password);
        throw invalidCredentials();
      }
      if (!(await hasher.verify(user.passwordHash, input.password))) throw invalidCredentials();
      await attempt.succeeded(user.id);
      if (user.status === 'WAITING') throw new ForbiddenError('Verify your email address before logging in', 'email_not_verified');
      if (user.status === 'BLOCKED') throw new ForbiddenError('This account is blocked', 'account_blocked');
      return sessions.start(user, 'password', readAtMs);
    },

    /** Always 202 with the same body; a code is mailed only to an ACTIVE account, at most once per cooldown. */
    async forgotPassword(input: { email: string }, ip: string) {
      await limiter.consume(`reset:ip:${ip}`, ipRule(rateLimits.resetPerIp));
      const slot = await cooldown(`reset-mail:${digest(input.email)}`, codes.resetCooldownSec);
      const user = await users.findByEmail(input.email);
      if (slot.allowed && user?.status === 'ACTIVE' && user.email) {
        const code = await deps.resetCodes.issue(user.id);
        deliver(authMails.passwordReset(user.email, code, codes.resetTtlSec), 'password_reset');
      }
      return { status: 'accepted' as const };
    },

    /**
     * Sets the new password and ends every session of the account. Before the code is proven, the
     * password is judged only against what the caller sent: judging it against the account's
     * username would tell a caller without the code which username goes with the email.
     */
    async resetPassword(input: { email: string; code: string; newPassword: string }, ip: string): Promise<void> {
      await limiter.consume(`code:ip:${ip}`, ipRule(rateLimits.codeAttemptsPerIp));
      const generic = checkPassword(input.newPassword, { email: input.email }, 'body.newPassword');
      if (generic.length > 0) throw new ValidationError('Password does not meet the policy', generic);
      const user = await users.findByEmail(input.email);
      if (!user || user.status !== 'ACTIVE') throw invalidCode();
      // Kept on a match, so an owner whose password is refused below can pick another with the same code.
      if ((await deps.resetCodes.check(user.id, input.code, { consume: false })) !== 'ok') throw invalidCode();
      const problems = checkPassword(input.newPassword, user, 'body.newPassword');
      if (problems.length > 0) throw new ValidationError('Password does not meet the policy', problems);
      // Used up now; a concurrent reset with the same code may have won, and then this one fails.
      if ((await deps.resetCodes.check(user.id, input.code)) !== 'ok') throw invalidCode();
      await users.update(user.id, { passwordHash: await hasher.hash(input.newPassword) });
      await sessions.endAll(user.id, 'password_change');
      await throttle.clearAccount(accountKey(user, input.email), ip);
      await deps.onUserChanged(user.id);
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
