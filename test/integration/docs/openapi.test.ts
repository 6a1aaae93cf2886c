import { Validator } from '@seriousme/openapi-schema-validator';
import { expect } from 'chai';
import request from 'supertest';
import { openApiPath } from '../../../src/http/openapi.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

describe('OpenAPI document and docs page', () => {
  let app: TestApp;
  let document: { openapi: string; paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>> };

  before(async () => {
    app = await startTestApp('openapi');
    const res = await request(app.server).get('/api/v1/openapi.json');
    expect(res.status).to.equal(200);
    document = res.body;
  });

  after(() => app.destroy());

  it('when the document is fetched, then it is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).to.equal('3.1.0');
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? [], JSON.stringify(result.errors)).to.deep.equal([]);
    expect(result.valid).to.equal(true);
  });

  it('when every route the server answers is listed, then each one is documented with its method', () => {
    const undocumented = app
      .mountedRoutes()
      .filter(({ method, path }) => !document.paths[openApiPath(path)]?.[method])
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(undocumented).to.deep.equal([]);
    expect(app.mountedRoutes().length).to.be.greaterThan(15);
  });

  it('when routes need a token, then their documented errors include 401 and 403; public ones declare no security', () => {
    const get = document.paths['/api/v1/diaries/{id}']!.get!;
    expect(Object.keys(get.responses)).to.include.members(['200', '401', '403', '404']);
    const healthz = document.paths['/healthz']!.get! as unknown as { security: unknown[] };
    expect(healthz.security).to.deep.equal([]);
  });

  it('when the docs page is opened, then it and its assets are served locally (no CDN), and nothing else is', async () => {
    const page = await request(app.server).get('/api/v1/docs');
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.match(/text\/html/);
    expect(page.text).to.include('/api/v1/docs/assets/swagger-ui-bundle.js');
    expect(page.text).not.to.match(/https?:\/\//);
    const bundle = await request(app.server).get('/api/v1/docs/assets/swagger-ui-bundle.js');
    expect(bundle.status).to.equal(200);
    expect(bundle.headers['content-type']).to.match(/javascript/);
    expect((await request(app.server).get('/api/v1/docs/init.js')).text).to.include('/api/v1/openapi.json');
    expect((await request(app.server).get('/api/v1/docs/assets/package.json')).status).to.equal(404);
    expect((await request(app.server).get('/api/v1/docs/assets/..%2F..%2Fpackage.json')).status).to.equal(404);
  });
});
