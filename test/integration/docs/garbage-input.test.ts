import { expect } from 'chai';
import request from 'supertest';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';

interface Operation {
  parameters?: Array<{ name: string; in: 'path' | 'query' | 'header' | 'cookie' }>;
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
}
type Document = { paths: Record<string, Record<string, Operation>> };

const GARBAGE_IDS = ['x', '-1', '0', '1.5', '99999999999999999999999', 'null', "a'b", '%00', '%E0%A4%A', '감정', 'z'.repeat(2_000)];
const GARBAGE_BODIES: Array<[string, string]> = [
  ['truncated JSON', '{"a":'],
  ['an array', '[]'],
  ['a string', '"text"'],
  ['a number', '123'],
  ['null', 'null'],
  ['a prototype key', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'],
];
const GARBAGE_QUERY = ['abc', '-1', '1e309', '', '%%%', '[]', 'z'.repeat(2_000)];
const WITH_BODY = new Set(['post', 'put', 'patch', 'delete']);

/**
 * Walks every operation in the OpenAPI document and sends it garbage: bad path ids, malformed and
 * mistyped bodies, an oversized body, garbage query values. No answer may be a 5xx, every error
 * is problem+json, and the server keeps serving.
 */
describe('garbage input on every documented route', function () {
  this.timeout(120_000);
  let app: TestApp;
  let document: Document;
  const failures: string[] = [];

  before(async () => {
    app = await startTestApp('garbage', { http: { bodyLimitKb: 64 } });
    document = (await request(app.server).get('/api/v1/openapi.json')).body as Document;
  });

  after(() => app.destroy());

  async function check(what: string, send: () => request.Test): Promise<void> {
    const res = await send();
    const type = String(res.headers['content-type'] ?? '');
    if (res.status >= 500) failures.push(`${what}: ${res.status} ${res.text.slice(0, 200)}`);
    else if (res.status >= 400 && !type.includes('application/problem+json')) failures.push(`${what}: ${res.status} answered as ${type || 'no content type'}`);
  }

  it('when any route gets bad ids, bodies or query values, then it answers 4xx problem+json, never 5xx', async () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
    expect(operations.length).to.be.greaterThan(40);
    for (const { path, method, op } of operations) {
      // A caller of its own per operation: garbage sent to logout or delete must not starve the rest.
      const caller: TestUser = await createTestUser(app, { role: path.includes('/admin') ? 'ADMIN' : 'USER' });
      const call = (url: string) => request(app.server)[method as 'get'](url).set(caller.auth);
      const withIds = (id: string) => path.replace(/\{[^}]+\}/g, encodeURIComponent(id).replace(/%25/g, '%'));
      const label = `${method.toUpperCase()} ${path}`;
      const hasPathParams = path.includes('{');
      for (const id of hasPathParams ? GARBAGE_IDS : []) await check(`${label} id=${id.slice(0, 20)}`, () => call(withIds(id)));
      const url = withIds('1');
      if (WITH_BODY.has(method)) {
        for (const [name, body] of GARBAGE_BODIES) await check(`${label} body ${name}`, () => call(url).set('content-type', 'application/json').send(body));
        const properties = Object.keys(Object.values(op.requestBody?.content ?? {})[0]?.schema?.properties ?? {});
        const mistyped = Object.fromEntries(properties.map((p, i) => [p, [{ $gt: '' }, 1e300, true, ['a'], null][i % 5]]));
        await check(`${label} body with mistyped fields`, () => call(url).send(mistyped));
        await check(`${label} oversized body`, () => call(url).set('content-type', 'application/json').send(JSON.stringify({ content: 'x'.repeat(100 * 1024) })));
        await check(`${label} form body`, () => call(url).set('content-type', 'application/x-www-form-urlencoded').send('a=1&a=2&b[c]=3'));
      }
      for (const param of (op.parameters ?? []).filter((p) => p.in === 'query')) {
        for (const value of GARBAGE_QUERY) await check(`${label} ?${param.name}=${value.slice(0, 20)}`, () => call(`${url}?${param.name}=${value}&${param.name}=1`));
      }
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
    expect((await request(app.server).get('/healthz')).status).to.equal(200);
  });
});
