import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { loadConfig } from '../../../config/index.js';
import { createHttpApp } from '../../../src/http/app.js';
import { webAppRoutes } from '../../../src/http/web-routes.js';
import { createLogger } from '../../../kernel/logger.js';
import { createMetrics } from '../../../kernel/metrics.js';

/** The web app's static files as the API serves them, from a build folder of the test's own. */
describe('web app routes (/app/)', () => {
  const config = loadConfig({ APP_PROFILE: 'test', MARIADB_URL: 'mariadb://x@h/d', MONGO_URL: 'mongodb://h/d', REDIS_URL: 'redis://h', KAFKA_BROKERS: 'h:1', LOG_LEVEL: 'fatal' });
  let dist: string;
  let server: Server;
  let unbuilt: Server;
  const script = `console.log(${JSON.stringify('x'.repeat(4000))});`;

  before(() => {
    dist = mkdtempSync(path.join(tmpdir(), 'web-dist-'));
    mkdirSync(path.join(dist, 'assets'));
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>app</title><div id="root"></div>');
    writeFileSync(path.join(dist, 'assets', 'index-abc123.js'), script);
    writeFileSync(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const app = (distDir: string) => createHttpApp({ config, log: createLogger(config, 'test'), metrics: createMetrics(), routes: [], authenticate: async () => undefined as never, middleware: [webAppRoutes({ distDir })] });
    server = createServer(app(dist).koa.callback());
    unbuilt = createServer(app(path.join(dist, 'missing')).koa.callback());
  });

  after(() => rmSync(dist, { recursive: true, force: true }));

  it('when a page of the app is asked for, at any depth, then index.html answers, revalidated each time', async () => {
    for (const url of ['/app/', '/app/diary/12', '/app/login?verified=1']) {
      const res = await request(server).get(url).expect(200);
      expect(res.text, url).to.include('<div id="root">');
      expect(res.headers['content-type']).to.match(/^text\/html/);
      expect(res.headers['cache-control']).to.equal('no-cache');
    }
    const first = await request(server).get('/app/');
    await request(server).get('/app/').set('If-None-Match', first.headers.etag!).expect(304);
  });

  it('when a hashed asset is asked for, then it is cached for a year and gzipped for clients that accept it', async () => {
    // supertest inflates the body; the header says it travelled gzipped.
    const res = await request(server).get('/app/assets/index-abc123.js').set('Accept-Encoding', 'gzip').expect(200);
    expect(res.headers['cache-control']).to.include('immutable');
    expect(res.headers['content-encoding']).to.equal('gzip');
    expect(res.text).to.equal(script);
    expect((await request(server).get('/app/assets/index-abc123.js').set('Accept-Encoding', 'identity')).headers['content-encoding']).to.equal(undefined);
    expect((await request(server).get('/app/favicon.svg').expect(200)).headers['content-type']).to.equal('image/svg+xml');
  });

  it('when an asset is missing, or a path leaves the build folder, then 404 problem+json, never index.html', async () => {
    const missing = await request(server).get('/app/assets/gone-000.js').expect(404);
    expect(missing.headers['content-type']).to.match(/problem\+json/);
    for (const url of ['/app/..%2f..%2fetc%2fpasswd', '/app/assets/..%2f..%2f..%2fpackage.json']) {
      const res = await request(server).get(url);
      expect(res.status, url).to.be.oneOf([400, 404]);
      expect(res.text, url).not.to.include('<div id="root">');
    }
    expect((await request(server).get('/app/%E0%A4%A')).status).to.equal(400);
  });

  it('when the site root is opened, then it redirects to the app; other methods than GET answer 405 with Allow', async () => {
    expect((await request(server).get('/').expect(302)).headers.location).to.equal('/app/');
    const res = await request(server).post('/app/diary').send({}).expect(405);
    expect(res.headers.allow).to.equal('GET, HEAD');
  });

  it('when the app is not built, then its pages answer 503 naming the build command, and the rest of the server is unaffected', async () => {
    const res = await request(unbuilt).get('/app/').expect(503);
    expect(res.body.code).to.equal('web_app_not_built');
    expect(res.body.detail).to.include('npm run build:web');
  });
});
