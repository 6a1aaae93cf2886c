import { expect } from 'chai';
import request from 'supertest';
import { createApiApp, type ApiApp } from '../../../src/app.js';
import { runMigrate } from '../../../src/cli/migrate-command.js';
import { createLogger } from '../../../kernel/logger.js';
import { bearer, newAccount } from '../../harness/auth-flows.js';
import { recordViolation } from '../../harness/contract-audit.js';
import { startSmtpCapture, type SmtpCapture } from '../../harness/smtp-capture.js';
import { dropNamespace, testConfig, uniqueNamespace } from '../../harness/test-app.js';

describe('auth: logs never contain passwords, tokens or codes', () => {
  let smtp: SmtpCapture;
  let app: ApiApp;
  const records: object[] = [];

  before(async () => {
    smtp = await startSmtpCapture();
    // No reuse grace: the immediate reuse below must revoke the family (and log about it).
    const config = testConfig(uniqueNamespace('logs'), { ...smtp.configOverrides(), auth: { refresh: { reuseGraceSec: 0 } } });
    // The app's own logger (serializers included), plus a raw stream that keeps every record at every level.
    const log = createLogger(config, 'api');
    log.addStream({ type: 'raw', level: 'trace', stream: { write: (record: object) => void records.push(record) } as unknown as NodeJS.WritableStream });
    await runMigrate(config, log, 'up');
    app = await createApiApp(config, { log, responseAudit: recordViolation });
    await app.start();
  });
  after(async () => {
    await app.stop();
    await dropNamespace(app.config);
    await smtp.stop();
  });

  it('when a user registers, verifies, logs in (also wrongly), refreshes, resets the password and logs out, then no secret appears in any log record', async () => {
    const account = newAccount();
    const secrets: string[] = [account.password];
    expect((await request(app.server).post('/api/v1/auth/register').send(account)).status).to.equal(201);
    const code = await smtp.takeCode(account.email);
    secrets.push(code);
    expect((await request(app.server).post('/api/v1/auth/verify-email').send({ email: account.email, code: code === '000000' ? '000001' : '000000' })).status).to.equal(400);
    expect((await request(app.server).post('/api/v1/auth/verify-email').send({ email: account.email, code })).status).to.equal(200);
    expect((await request(app.server).post('/api/v1/auth/login').send({ identifier: account.email, password: `${account.password}-wrong` })).status).to.equal(401);
    secrets.push(`${account.password}-wrong`);
    const tokens = (await request(app.server).post('/api/v1/auth/login').send({ identifier: account.email, password: account.password })).body;
    secrets.push(tokens.accessToken, tokens.refreshToken);
    const refreshed = (await request(app.server).post('/api/v1/auth/refresh').send({ refreshToken: tokens.refreshToken })).body;
    secrets.push(refreshed.accessToken, refreshed.refreshToken);
    expect((await request(app.server).post('/api/v1/auth/refresh').send({ refreshToken: tokens.refreshToken })).status).to.equal(401); // reuse
    expect((await request(app.server).get('/api/v1/users/me').set('Authorization', bearer(refreshed.accessToken))).status).to.equal(401);

    expect((await request(app.server).post('/api/v1/auth/password/forgot').send({ email: account.email })).status).to.equal(202);
    const resetCode = await smtp.takeCode(account.email, /reset/i);
    const newPassword = 'Completely-new-passphrase-9';
    secrets.push(resetCode, newPassword);
    expect((await request(app.server).post('/api/v1/auth/password/reset').send({ email: account.email, code: resetCode, newPassword })).status).to.equal(204);
    const last = (await request(app.server).post('/api/v1/auth/login').send({ identifier: account.username, password: newPassword })).body;
    secrets.push(last.accessToken, last.refreshToken);
    expect((await request(app.server).post('/api/v1/auth/logout').set('Authorization', bearer(last.accessToken)).send({ refreshToken: last.refreshToken })).status).to.equal(204);

    expect(records.length).to.be.greaterThan(10);
    const text = records.map((r) => JSON.stringify(r)).join('\n');
    expect(text).to.include('"request"'); // the request lines really were captured
    for (const secret of secrets) expect(text.includes(secret), `a secret (${secret.slice(0, 3)}…) is in the logs`).to.equal(false);
    // JWT parts and the Authorization header value never appear either.
    expect(text).not.to.match(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
  });
});
