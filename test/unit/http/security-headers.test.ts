import { expect } from 'chai';
import Koa from 'koa';
import helmet from 'koa-helmet';
import request from 'supertest';
import { securityHeaders } from '../../../src/http/middleware/security-headers.js';

const OPTIONS = { contentSecurityPolicy: { directives: { 'script-src': ["'self'"], 'img-src': ["'self'", 'data:'] } } };

function appWith(middleware: Koa.Middleware): Koa {
  const app = new Koa();
  app.use(async (ctx, next) => {
    // What helmet must remove, set before it runs.
    ctx.set('X-Powered-By', 'test');
    await next();
  });
  app.use(middleware);
  app.use((ctx) => {
    ctx.body = { ok: true };
  });
  return app;
}

const headersOf = (res: request.Response) => {
  const { date: _date, ...rest } = res.headers as Record<string, string>;
  return rest;
};

describe('security headers', () => {
  it("when a response is sent, then it carries exactly the headers helmet itself would set, X-Powered-By removed", async () => {
    const expected = headersOf(await request(appWith(helmet(OPTIONS)).callback()).get('/'));
    const actual = headersOf(await request(appWith(securityHeaders(OPTIONS)).callback()).get('/'));
    expect(expected['content-security-policy']).to.include("script-src 'self'");
    expect(expected).not.to.have.property('x-powered-by');
    expect(actual).to.deep.equal(expected);
  });

  it('when helmet refuses the options, then building the middleware fails at start, not per request', () => {
    expect(() => securityHeaders({ contentSecurityPolicy: { directives: { 'script-src': ['self'] } } })).to.throw();
  });
});
