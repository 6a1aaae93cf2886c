import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../config/index.js';

const BASE = {
  MARIADB_URL: 'mariadb://u:p@db:3306/app',
  MONGO_URL: 'mongodb://mongo:27017/app',
  REDIS_URL: 'redis://redis:6379',
  KAFKA_BROKERS: 'k1:9092',
  JWT_SECRET: 'a-production-secret-that-is-long-enough-123',
};

describe('config: mail transport', () => {
  it('when staging or production would log mail (and so its codes), then start-up fails naming mail.transport', () => {
    for (const profile of ['staging', 'production']) {
      expect(() => loadConfig({ ...BASE, APP_PROFILE: profile, APP__MAIL__TRANSPORT: 'log' }))
        .to.throw(ConfigError)
        .with.property('message')
        .that.matches(/^config: mail\.transport: 'log' is allowed only/);
    }
  });

  it('when development or test log mail, then it is allowed', () => {
    expect(loadConfig({ ...BASE, APP_PROFILE: 'development' }).mail.transport).to.equal('log');
    expect(loadConfig({ ...BASE, APP_PROFILE: 'test' }).mail.transport).to.equal('log');
  });
});

describe('mailer: log transport', () => {
  it('when the log transport sends, then the message body is in the log record (the one place a code may be logged) and nothing is sent', async () => {
    const { createLogger } = await import('../../../kernel/logger.js');
    const { createMailer } = await import('../../../kernel/clients/mailer.js');
    const config = loadConfig({ ...BASE, APP_PROFILE: 'test' });
    const records: Array<Record<string, unknown>> = [];
    const log = createLogger(config);
    log.addStream({ type: 'raw', level: 'info', stream: { write: (r: Record<string, unknown>) => void records.push(r) } as unknown as NodeJS.WritableStream });
    await createMailer(config, log).send({ to: 'a@example.test', subject: 'Code', text: 'Your code is 123456' });
    expect(records.some((r) => r.mailBody === 'Your code is 123456')).to.equal(true);
  });
});
