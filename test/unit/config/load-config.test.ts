import { expect } from 'chai';
import { ConfigError, encryptSecret, loadConfig } from '../../../config/index.js';

const BASE = {
  APP_PROFILE: 'production',
  MARIADB_URL: 'mariadb://u:p@db:3306/app',
  MONGO_URL: 'mongodb://mongo:27017/app',
  REDIS_URL: 'redis://redis:6379',
  KAFKA_BROKERS: 'k1:9092,k2:9092',
  JWT_SECRET: 'a-production-secret-that-is-long-enough-123',
};

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('when env vars are set, then aliases and APP__ paths override the profile, typed by the schema', () => {
    const config = loadConfig({ ...BASE, PORT: '8080', APP__AUTH__JWT__ACCESS_TTL_SEC: '600', APP__REALTIME__SHARDED_PUB_SUB: 'true' });
    expect(config.profile).to.equal('production');
    expect(config.http.port).to.equal(8080);
    expect(config.http.host).to.equal('0.0.0.0');
    expect(config.kafka.brokers).to.deep.equal(['k1:9092', 'k2:9092']);
    expect(config.auth.jwt.accessTtlSec).to.equal(600);
    expect(config.realtime.shardedPubSub).to.equal(true);
    expect(config.diaries.contentMaxChars).to.equal(20_000);
  });

  it('when the profile is production, then pipeline topics get 3 replicas with 2 in sync; development leaves them to its one broker', () => {
    const production = loadConfig(BASE).kafka;
    expect(production).to.include({ replicationFactor: 3, minInSyncReplicas: 2, idempotentProducers: true, metadataMaxAgeMs: 60_000 });
    const development = loadConfig({ ...BASE, APP_PROFILE: 'development' }).kafka;
    expect(development.replicationFactor).to.equal(-1);
    expect(development.minInSyncReplicas).to.equal(undefined);
    // docker compose runs the production profile on one broker.
    expect(loadConfig({ ...BASE, APP__KAFKA__REPLICATION_FACTOR: '1', APP__KAFKA__MIN_IN_SYNC_REPLICAS: '1' }).kafka).to.include({ replicationFactor: 1, minInSyncReplicas: 1 });
  });

  it('when min.insync.replicas exceeds the replication factor, then the config is refused (every acks-all write would be)', () => {
    const message = configError(() => loadConfig({ ...BASE, APP__KAFKA__REPLICATION_FACTOR: '2', APP__KAFKA__MIN_IN_SYNC_REPLICAS: '3' }));
    expect(message).to.equal('config: kafka.minInSyncReplicas: must not exceed kafka.replicationFactor (2)');
  });

  it('when MARIADB_REPLICA_URL is set, then stale-tolerant reads get a replica of the same database; without it, none', () => {
    expect(loadConfig(BASE).mariadb.replica).to.deep.equal({ poolMax: 10, maxLagSec: 5, readYourWritesWaitMs: 100, probeIntervalMs: 1_000, connectTimeoutMs: 1_000 });
    const config = loadConfig({ ...BASE, MARIADB_REPLICA_URL: 'mariadb://reader:p@replica:3306/app', APP__MARIADB__REPLICA__MAX_LAG_SEC: '10' });
    expect(config.mariadb.replica).to.deep.include({ url: 'mariadb://reader:p@replica:3306/app', maxLagSec: 10 });
    expect(configError(() => loadConfig({ ...BASE, MARIADB_REPLICA_URL: 'mariadb://reader:p@replica:3306/other' }))).to.equal(
      'config: mariadb.replica.url: must name the same database as mariadb.url',
    );
  });

  it('when a required value is missing, then the error names the key in one line', () => {
    const { JWT_SECRET: _omitted, ...rest } = BASE;
    const message = configError(() => loadConfig(rest));
    expect(message).to.equal('config: auth.jwt.secret: is required');
  });

  it('when a value has the wrong type, then the error names the key and not the value', () => {
    const message = configError(() => loadConfig({ ...BASE, PORT: 'eighty' }));
    expect(message).to.match(/^config: http\.port: /);
    expect(message).not.to.include('eighty');
    expect(message.split('\n')).to.have.length(1);
  });

  it('when an ENC() value and the right master password are given, then the secret is decrypted', () => {
    const enc = encryptSecret('the-real-jwt-secret-0123456789-abcdef', 'master-password-1');
    expect(enc).to.match(/^ENC\(v1\./);
    const config = loadConfig({ ...BASE, JWT_SECRET: enc, CONFIG_MASTER_PASSWORD: 'master-password-1' });
    expect(config.auth.jwt.secret).to.equal('the-real-jwt-secret-0123456789-abcdef');
  });

  it('when the master password is wrong, then start-up fails naming the key without printing the secret', () => {
    const enc = encryptSecret('the-real-jwt-secret-0123456789-abcdef', 'master-password-1');
    const message = configError(() => loadConfig({ ...BASE, JWT_SECRET: enc, CONFIG_MASTER_PASSWORD: 'wrong-password-22' }));
    expect(message).to.equal('config: auth.jwt.secret: cannot decrypt (wrong CONFIG_MASTER_PASSWORD or corrupted value)');
    expect(message).not.to.include('the-real-jwt-secret');
  });

  it('when an ENC() value is present but no master password, then start-up fails naming the key', () => {
    const enc = encryptSecret('x'.repeat(40), 'master-password-1');
    expect(configError(() => loadConfig({ ...BASE, JWT_SECRET: enc }))).to.equal(
      'config: auth.jwt.secret is ENC(...) but CONFIG_MASTER_PASSWORD is not set',
    );
  });

  it('when an ENC() value was tampered with, then decryption is refused', () => {
    const enc = encryptSecret('x'.repeat(40), 'master-password-1');
    const parts = enc.slice(4, -1).split('.');
    const tag = Buffer.from(parts[3]!, 'base64url');
    tag[0] = tag[0]! ^ 0xff;
    parts[3] = tag.toString('base64url');
    const tampered = `ENC(${parts.join('.')})`;
    expect(configError(() => loadConfig({ ...BASE, JWT_SECRET: tampered, CONFIG_MASTER_PASSWORD: 'master-password-1' }))).to.match(/cannot decrypt/);
  });

  it('when the same secret is encrypted twice, then the ciphertexts differ (fresh salt and IV)', () => {
    expect(encryptSecret('same', 'master-password-1')).not.to.equal(encryptSecret('same', 'master-password-1'));
  });

  it('when an unknown key is set in a generic override, then it is refused', () => {
    expect(configError(() => loadConfig({ ...BASE, APP__HTTP__PROT: '1' }))).to.match(/http: unknown key\(s\) prot/);
  });

  it('when APP_PROFILE is not a known profile, then it is refused', () => {
    expect(configError(() => loadConfig({ ...BASE, APP_PROFILE: 'qa' }))).to.match(/APP_PROFILE must be one of/);
  });
});
