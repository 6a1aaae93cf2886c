import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, type AppConfig } from '../../../config/index.js';
import { createRedis, type RedisClient } from '../../../kernel/clients/redis.js';
import { createRateLimiter } from '../../../kernel/rate-limiter.js';
import { startRedisCluster, type RedisClusterService } from '../../../scripts/services/redis-cluster.js';
import { createLoginThrottle } from '../../../src/auth/login-throttle.js';
import { createOneTimeCodes } from '../../../src/auth/one-time-codes.js';
import { createRefreshTokenStore } from '../../../src/auth/refresh-token-store.js';
import { createTokenRevocation } from '../../../src/auth/token-revocation.js';
import { createProfileCache } from '../../../src/users/profile-cache.js';
import { keysMatching } from '../../harness/redis-keys.js';
import { testConfig, testLogger, uniqueNamespace } from '../../harness/test-app.js';

/**
 * The Redis stores on a real Redis Cluster (3 primaries, 3 replicas): every MULTI, Lua script and
 * multi-key command must touch one hash slot, or the cluster answers CROSSSLOT. Users are spread
 * over all three primaries, so a key design that mixed slots would fail here.
 */
describe('Redis stores on a Redis Cluster (hash tags)', function () {
  this.timeout(120_000);
  let dir: string;
  let rc: RedisClusterService;
  let config: AppConfig;
  let redis: RedisClient;
  const users = Array.from({ length: 12 }, (_, i) => String(1000 + i));

  before(async function () {
    this.timeout(120_000);
    dir = mkdtempSync(path.join(tmpdir(), 'redis-cluster-keys-'));
    rc = await startRedisCluster(dir, dir);
    config = testConfig(uniqueNamespace('rckeys'), {}, { REDIS_CLUSTER_NODES: rc.nodes.join(',') });
    redis = createRedis(config, testLogger(config), 'cluster-keys-test');
    await redis.connect();
  });

  after(async () => {
    redis?.disconnect();
    await rc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('when the users are spread, then their tags land on every primary (the test covers cross-node cases)', async () => {
    const primaries = new Set<number>();
    for (const userId of users) primaries.add((await rc.primaryOf(await rc.slotOf(`{u:${userId}}`))).port);
    expect(primaries.size).to.equal(3);
  });

  it('when keys of two slots meet in one command, MULTI or script, then it is refused, so the checks below can fail', async () => {
    // The pre-cluster keys: revocation marks (one MGET), a family and its user's set (one MULTI).
    // ioredis refuses a cross-slot command it pipelines itself; the cluster answers CROSSSLOT to the rest.
    const mget = await redis.mget('auth:not-before:1000', 'auth:revoked-session:5b1c').catch((e: Error) => e);
    expect(String(mget)).to.match(/CROSSSLOT|same slot/);
    const multi = await redis.multi().hset('rt:fam:5b1c', { userId: '1000' }).sadd('rt:user:1000', '5b1c').exec().catch((e: Error) => e);
    expect(String(multi)).to.match(/CROSSSLOT|same slot/);
    const script = await redis.eval("return redis.call('GET', KEYS[2])", 2, 'rt:fam:5b1c', 'rt:grace:9f00').catch((e: Error) => e);
    expect(String(script)).to.match(/CROSSSLOT|same slot/);
  });

  it('when refresh-token families live through create, rotate, grace, reuse, reissue, revoke and revokeAll, then every step works on the cluster', async () => {
    const store = createRefreshTokenStore(redis, { ttlSec: 600, absoluteTtlSec: 3_600, reuseGraceSec: 5, secret: 'cluster-keys' });
    for (const userId of users) {
      const first = await store.create(userId, 'password', Date.now());
      const second = await store.create(userId, 'google', Date.now());
      const rotated = await store.rotate(first.refreshToken);
      expect(rotated.kind, `rotate ${userId}`).to.equal('ok');
      // The same token again within the grace window: the newest token, not a revocation.
      const again = await store.rotate(first.refreshToken);
      expect(again.kind).to.equal('grace');
      if (rotated.kind === 'ok' && again.kind === 'grace') expect(again.refreshToken).to.equal(rotated.refreshToken);
      expect((await store.familyOf(second.refreshToken))?.sessionId).to.equal(second.family.sessionId);
      const reissued = await store.reissue(userId, first.family.sessionId);
      expect(reissued).to.be.a('string');
      expect((await store.rotate(reissued!)).kind).to.equal('ok');
      expect(await store.revoke(userId, second.family.sessionId)).to.include({ userId });
      expect((await store.rotate(second.refreshToken)).kind).to.equal('invalid');
      const third = await store.create(userId, 'password', Date.now());
      expect(await store.revokeAll(userId, third.family.sessionId)).to.deep.equal([first.family.sessionId]);
      expect(await store.get(userId, third.family.sessionId)).to.include({ userId });
      expect(await store.cutoff(userId)).to.be.a('number');
    }
  });

  it('when the stores have written, then every key naming a user carries the user tag and hashes to that user\'s slot', async () => {
    const revocation = createTokenRevocation(redis, { accessTtlSec: 900 });
    const limiter = createRateLimiter(redis);
    const throttle = createLoginThrottle(limiter, redis, config.auth.rateLimits);
    const codes = createOneTimeCodes(redis, { purpose: 'verify', ttlSec: 60, maxAttempts: 3, secret: 'cluster-keys' });
    const profiles = createProfileCache<{ name: string }>(redis, 60);
    for (const userId of users) {
      await revocation.revokeSession(userId, `sid-${userId}`);
      expect(await revocation.isRevoked({ userId, sessionId: `sid-${userId}`, issuedAtMs: Date.now() })).to.equal(true);
      await revocation.revokeUser(userId);
      expect(await revocation.isRevoked({ userId, sessionId: 'other', issuedAtMs: Date.now() - 1_000 })).to.equal(true);
      const attempt = await throttle.attempt({ accountKey: `u:${userId}`, userId, ip: `10.0.0.${userId.slice(-2)}` });
      await attempt.succeeded(userId);
      await throttle.clearAccount(`u:${userId}`, '10.0.0.1');
      const code = await codes.issue(userId);
      expect(await codes.check(userId, '000000' === code ? '111111' : '000000')).to.equal('invalid');
      expect(await codes.check(userId, code)).to.equal('ok');
      await profiles.set(userId, { name: userId });
      expect(await profiles.get(userId)).to.deep.equal({ name: userId });
    }
    await limiter.reset(...users.map((u) => `x:${u}`));

    const keys = await keysMatching(redis, `${config.redis.keyPrefix}*`);
    const tagged = keys.filter((k) => k.includes('{u:'));
    expect(tagged.length).to.be.greaterThan(users.length * 4);
    for (const key of tagged) {
      const userId = /\{u:([^}]+)\}/.exec(key)![1]!;
      expect(key.indexOf('{'), `${key}: the tag is the first brace`).to.equal(key.indexOf('{u:'));
      expect(await rc.slotOf(key), key).to.equal(await rc.slotOf(`{u:${userId}}`));
    }
  });

  it('when a key prefix contains a brace, then the configuration is refused (it would become every key\'s hash tag)', () => {
    expect(() => testConfig(uniqueNamespace('rcbad'), {}, { REDIS_CLUSTER_NODES: rc.nodes.join(','), REDIS_KEY_PREFIX: 'ed:{x}:' })).to.throw(ConfigError, /redis.keyPrefix/);
  });
});
