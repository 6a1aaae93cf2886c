import { createServer } from 'node:http';
import { expect } from 'chai';
import request from 'supertest';
import { z } from 'zod';
import { createHttpApp } from '../../../src/http/app.js';
import type { ResponseAudit } from '../../../src/http/mount-routes.js';
import { defineRoute } from '../../../src/http/route.js';
import { UnauthorizedError } from '../../../kernel/errors.js';
import { createLogger } from '../../../kernel/logger.js';
import { createMetrics } from '../../../kernel/metrics.js';
import { loadConfig } from '../../../config/index.js';

describe('response contract audit', () => {
  const config = loadConfig({ APP_PROFILE: 'test', MARIADB_URL: 'mariadb://x@h/d', MONGO_URL: 'mongodb://h/d', REDIS_URL: 'redis://h', KAFKA_BROKERS: 'h:1', LOG_LEVEL: 'fatal' });
  const violations: Array<Parameters<ResponseAudit>[0]> = [];
  const routes = [
    defineRoute({
      method: 'get',
      path: '/good',
      operationId: 'good',
      summary: 'answers as documented',
      tags: ['t'],
      access: 'public',
      responses: { 200: z.object({ n: z.number() }) },
      handler: async () => ({ status: 200, body: { n: 1 } }),
    }),
    defineRoute({
      method: 'get',
      path: '/drifted',
      operationId: 'drifted',
      summary: 'answers a shape its document does not promise',
      tags: ['t'],
      access: 'public',
      responses: { 200: z.object({ n: z.number() }) },
      handler: async () => ({ status: 200, body: { n: 'one' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/undeclared',
      operationId: 'undeclared',
      summary: 'answers a status its document does not list',
      tags: ['t'],
      access: 'public',
      responses: { 200: z.object({}) },
      handler: async () => ({ status: 202, body: {} }),
    }),
  ];
  const http = createHttpApp({
    config,
    log: createLogger(config),
    metrics: createMetrics(),
    routes,
    authenticate: async () => {
      throw new UnauthorizedError();
    },
    audit: (v) => violations.push(v),
  });
  const server = createServer(http.koa.callback());

  it('when a response matches its schema, then nothing is recorded; when it drifts, then the audit names the operation', async () => {
    await request(server).get('/api/v1/good').expect(200);
    expect(violations).to.deep.equal([]);
    await request(server).get('/api/v1/drifted').expect(200);
    await request(server).get('/api/v1/undeclared').expect(202);
    expect(violations.map((v) => v.operationId)).to.deep.equal(['drifted', 'undeclared']);
    expect(violations[0]!.problem).to.match(/body\.n/);
    expect(violations[1]!.problem).to.match(/undocumented status 202/);
  });
});
