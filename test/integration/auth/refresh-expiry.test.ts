import { expect } from 'chai';
import type { AppConfig } from '../../../config/index.js';
import { createRefreshTokenStore } from '../../../src/auth/refresh-token-store.js';
import { createRedis, type RedisClient } from '../../../kernel/clients/redis.js';
import { deletePrefixed } from '../../harness/redis-keys.js';
import { testConfig, testLogger, uniqueNamespace } from '../../harness/test-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Expiry of refresh-token families on real Redis, with second-scale lifetimes (the config's
 * minimum is a minute, so the store is built here with shorter ones).
 */
describe('refresh-token families expire (idle and absolute)', function () {
  this.timeout(15_000);
  let config: AppConfig;
  let redis: RedisClient;

  before(() => {
    config = testConfig(uniqueNamespace('rtexp'));
    redis = createRedis(config, testLogger(config), 'refresh-expiry-test');
  });

  after(async () => {
    await deletePrefixed(redis, config.redis.keyPrefix);
    redis.disconnect();
  });

  it('when a family is not used for longer than the idle lifetime, then its token no longer refreshes', async () => {
    const store = createRefreshTokenStore(redis, { ttlSec: 1, absoluteTtlSec: 30, secret: 'refresh-expiry-test' });
    const { refreshToken } = await store.create('101', 'password', Date.now());
    await sleep(1_300);
    expect(await store.rotate(refreshToken)).to.deep.equal({ kind: 'invalid' });
  });

  it('when a family keeps being used, then each rotation renews the idle lifetime', async () => {
    const store = createRefreshTokenStore(redis, { ttlSec: 1, absoluteTtlSec: 30, secret: 'refresh-expiry-test' });
    let { refreshToken } = await store.create('102', 'password', Date.now());
    for (let i = 0; i < 4; i++) {
      await sleep(600);
      const rotated = await store.rotate(refreshToken);
      expect(rotated.kind, `rotation ${i + 1}`).to.equal('ok');
      if (rotated.kind === 'ok') refreshToken = rotated.refreshToken;
    }
  });

  it('when the absolute lifetime has passed, then even a family in constant use stops refreshing', async () => {
    const store = createRefreshTokenStore(redis, { ttlSec: 2, absoluteTtlSec: 3, secret: 'refresh-expiry-test' });
    const created = await store.create('103', 'password', Date.now());
    let refreshToken = created.refreshToken;
    const results: string[] = [];
    while (Date.now() < created.family.absoluteExpiresAtMs + 500) {
      await sleep(700);
      const rotated = await store.rotate(refreshToken);
      results.push(rotated.kind);
      if (rotated.kind === 'ok') refreshToken = rotated.refreshToken;
    }
    expect(results.slice(0, 3)).to.deep.equal(['ok', 'ok', 'ok']);
    expect(results.at(-1)).to.equal('invalid');
    expect(await store.get('103', created.family.sessionId)).to.equal(null);
  });
});
