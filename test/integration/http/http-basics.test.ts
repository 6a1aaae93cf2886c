import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { freePort } from '../../../scripts/services/index.js';
import { startRedis, type RestartableService } from '../../../scripts/services/redis.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser } from '../../harness/users.js';

describe('HTTP platform: health, readiness, metrics, request ids, errors', () => {
  let app: TestApp;
  let redis: RestartableService;

  before(async () => {
    // A private Redis, so stopping it cannot disturb other tests.
    const dir = mkdtempSync(path.join(tmpdir(), 'readyz-redis-'));
    redis = await startRedis(dir, await freePort(), dir);
    app = await startTestApp('http', { redis: { url: redis.url } });
  });

  after(async () => {
    await app.destroy();
    await redis.stop();
  });

  it('when /healthz is called, then it answers 200 ok', async () => {
    const res = await request(app.server).get('/healthz');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'ok' });
  });

  it('when /metrics is asked in another spelling, then only the exact path answers', async () => {
    expect((await request(app.server).get('/metrics')).status).to.equal(200);
    for (const variant of ['/metrics/', '/METRICS', '/Metrics', '/readyz/', '/HEALTHZ']) expect((await request(app.server).get(variant)).status, variant).to.equal(404);
  });

  it('when metrics.enabled is false, then /metrics is not served and health still is', async () => {
    const quiet = await startTestApp('nometrics', { metrics: { enabled: false } });
    try {
      expect((await request(quiet.server).get('/metrics')).status).to.equal(404);
      expect((await request(quiet.server).get('/healthz')).status).to.equal(200);
    } finally {
      await quiet.destroy();
    }
  });

  it('when every dependency is up, then /readyz answers 200 with each check', async () => {
    const res = await request(app.server).get('/readyz');
    expect(res.status).to.equal(200);
    expect(Object.keys(res.body.checks).sort()).to.deep.equal(['kafka', 'mariadb', 'mongo', 'redis', 'status-consumer']);
  });

  it('when Redis is stopped, then /readyz answers 503 naming redis, API calls answer 503 with Retry-After, and all is 200 again once it is back', async () => {
    const user = await createTestUser(app);
    await redis.stop();
    const down = await request(app.server).get('/readyz');
    expect(down.status).to.equal(503);
    expect(down.body.checks.redis.status).to.equal('fail');
    expect(down.body.checks.redis.error).to.be.oneOf(['unavailable', `timed out after ${app.config.http.readinessTimeoutMs} ms`]);
    expect(JSON.stringify(down.body), 'no driver message (hosts, ports) in a public answer').to.not.match(/127\.0\.0\.1|ECONNREFUSED|:\d{4,5}/);
    expect(down.body.checks.mariadb.status).to.equal('ok');
    const call = await request(app.server).get('/api/v1/diaries').set(user.auth);
    expect(call.status).to.equal(503);
    expect(call.body.code).to.equal('dependency_unavailable');
    expect(call.headers['retry-after']).to.equal('5');

    await redis.start();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await request(app.server).get('/readyz')).status;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).to.equal(200);
    expect((await request(app.server).get('/api/v1/diaries').set(user.auth)).status).to.equal(200);
  });

  it('when a request carries X-Request-Id, then it is echoed; otherwise one is made', async () => {
    const given = await request(app.server).get('/healthz').set('X-Request-Id', 'abc-123');
    expect(given.headers['x-request-id']).to.equal('abc-123');
    const made = await request(app.server).get('/healthz').set('X-Request-Id', 'bad id with spaces');
    expect(made.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
  });

  it('when an unknown route is requested, then the answer is a problem+json 404 with an error id', async () => {
    const res = await request(app.server).get('/api/v1/nothing-here/42');
    expect(res.status).to.equal(404);
    expect(res.headers['content-type']).to.match(/application\/problem\+json/);
    expect(res.body).to.include({ status: 404, code: 'route_not_found' });
    expect(res.body.errorId).to.match(/^[0-9a-f-]{36}$/);
  });

  it('when a method no route has is used on an existing path, then the answer is 405 with Allow (not 501); on an unknown path 404', async () => {
    for (const method of ['TRACE', 'PUT', 'QUERY']) {
      const agent = request(app.server) as unknown as Record<string, (url: string) => request.Test>;
      const res = await agent[method.toLowerCase()]!('/healthz');
      expect(res.status, method).to.equal(405);
      expect(res.headers.allow, method).to.match(/\bGET\b/);
      expect(res.headers['content-type'], method).to.match(/application\/problem\+json/);
    }
    expect((await request(app.server).trace('/api/v1/nothing-here')).status).to.equal(404);
  });

  it('when a literal path sits beside a path whose parameter is a few names, then other methods on it get 405 and unknown names 404', async () => {
    // POST /auth/oauth/exchange and GET /auth/oauth/{provider}: "exchange" is not a provider.
    const get = await request(app.server).get('/api/v1/auth/oauth/exchange');
    expect(get.status).to.equal(405);
    expect(get.headers.allow).to.equal('POST');
    expect((await request(app.server).options('/api/v1/auth/oauth/exchange')).headers.allow).to.equal('POST');
    expect((await request(app.server).get('/api/v1/auth/oauth/myspace')).status).to.equal(404);
  });

  it('when a request body holds U+0000 anywhere, then 400 names the field and nothing is stored', async () => {
    const user = await createTestUser(app);
    for (const body of [{ content: 'a\u0000b' }, { title: 't\u0000', content: 'fine' }, { content: 'fine', ['k\u0000']: 1 }]) {
      const res = await request(app.server).post('/api/v1/diaries').set(user.auth).send(body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(res.body.errors[0].message).to.match(/U\+0000/);
    }
    const admin = await createTestUser(app, { role: 'ADMIN' });
    const announcement = await request(app.server).post('/api/v1/admin/announcements').set(admin.auth).send({ title: '@\u0082\u0000', body: 'x' });
    expect(announcement.status).to.equal(400);
    expect(announcement.body.errors[0].path).to.equal('body.title');
    const list = await request(app.server).get('/api/v1/diaries').set(user.auth);
    expect(list.body.items).to.have.length(0);
  });

  it('when a time range lies outside the years 1900-2999, then 400 (the stores cannot hold every such date), and inside it 200', async () => {
    const user = await createTestUser(app);
    // Found by the fuzzer: year 0104 reached the SQL and answered 500.
    const far = await request(app.server).get('/api/v1/stats/emotions').query({ granularity: 'week', from: '0104-11-16T00:30:57+12:54', to: '0104-11-16T16:30:57+12:54' }).set(user.auth);
    expect(far.status).to.equal(400);
    expect(far.body.errors[0].path).to.match(/^query\.(from|to)/);
    const report = await request(app.server).post('/api/v1/reports').set(user.auth).send({ from: '1899-12-31', to: '1900-01-02' });
    expect(report.status).to.equal(400);
    expect((await request(app.server).get('/api/v1/diaries').query({ from: '0001-01-01' }).set(user.auth)).status).to.equal(400);
    const ok = await request(app.server).get('/api/v1/stats/emotions').query({ from: '1900-01-01', to: '1900-03-01' }).set(user.auth);
    expect(ok.status).to.equal(200);
  });

  it('when an integer query parameter is empty or not plain digits, then 400 (a Number() coercion took "" for 0)', async () => {
    const user = await createTestUser(app);
    for (const afterSeq of ['', ' 3', '0x10', '1e3', 'abc']) {
      const res = await request(app.server).get('/api/v1/notifications').query({ afterSeq }).set(user.auth);
      expect(res.status, JSON.stringify(afterSeq)).to.equal(400);
    }
    expect((await request(app.server).get('/api/v1/notifications').query({ afterSeq: '3', limit: '5' }).set(user.auth)).status).to.equal(200);
    const doc = (await request(app.server).get('/api/v1/openapi.json')).body as { paths: Record<string, { get: { parameters: Array<{ name: string; schema: Record<string, unknown> }> } }> };
    const limit = doc.paths['/api/v1/notifications']!.get.parameters.find((p) => p.name === 'limit')!;
    expect(limit.schema).to.include({ type: 'integer', minimum: 1, maximum: 200 });
  });

  it('when the OpenAPI document describes a request, then it says what the validators enforce', async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking a JSON document
    const doc = (await request(app.server).get('/api/v1/openapi.json')).body as { paths: Record<string, Record<string, any>> };
    const content = doc.paths['/api/v1/diaries']!.post.requestBody.content['application/json'].schema.properties.content;
    expect(content.pattern).to.equal('\\S');
    expect(content.not).to.deep.equal({ pattern: '\\u0000' });
    expect(doc.paths['/api/v1/auth/logout']!.post.requestBody.required).to.equal(false);
    expect(doc.paths['/api/v1/diaries']!.post.requestBody.required).to.equal(true);
    const tz = doc.paths['/api/v1/stats/emotions']!.get.parameters.find((p: { name: string }) => p.name === 'timezone');
    expect(tz.schema.enum).to.include('Asia/Seoul');
    const ack = doc.paths['/api/v1/notifications/ack']!.post.requestBody.content['application/json'].schema;
    expect(ack.anyOf).to.have.length(2);
    expect(doc.paths['/api/v1/diaries']!.get.responses['431']).to.have.property('description');
  });

  it('when /metrics is scraped, then HTTP durations are labelled by route template and default metrics are present', async () => {
    await request(app.server).get('/api/v1/nothing-here/42');
    const res = await request(app.server).get('/metrics');
    expect(res.status).to.equal(200);
    expect(res.text).to.include('process_cpu_seconds_total');
    expect(res.text).to.match(/http_request_duration_seconds_count\{[^}]*route="\/healthz"/);
    expect(res.text).to.match(/http_request_duration_seconds_count\{[^}]*route="unmatched"/);
    expect(res.text).not.to.include('nothing-here');
  });
});
