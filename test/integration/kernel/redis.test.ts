import { expect } from 'chai';
import { Redis } from 'ioredis';
import { serviceUrls } from '../../harness/services.js';
import { uniqueNamespace } from '../../harness/test-app.js';

describe('Redis', () => {
  let redis: Redis;
  before(() => {
    redis = new Redis(serviceUrls().REDIS_URL, { keyPrefix: `${uniqueNamespace('redis')}:` });
  });
  after(() => redis.disconnect());

  it('when a key is written with a TTL, then the server expires it after that time', async () => {
    await redis.set('code', '123456', 'PX', 300);
    expect(await redis.get('code')).to.equal('123456');
    const ttl = await redis.pttl('code');
    expect(ttl).to.be.within(1, 300);
    await new Promise((r) => setTimeout(r, 500));
    expect(await redis.get('code')).to.equal(null);
    expect(await redis.exists('code')).to.equal(0);
  });
});
