import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { z } from 'zod';
import { NotFoundError } from '../../kernel/errors.js';
import { API_PREFIX, buildOpenApiDocument } from './openapi.js';
import { defineRoute, type RouteSpec } from './route.js';

const SWAGGER_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Emotion Diary API</title>
  <link rel="stylesheet" href="${API_PREFIX}/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="${API_PREFIX}/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${API_PREFIX}/docs/assets/swagger-ui-bundle.js"></script>
  <script src="${API_PREFIX}/docs/init.js"></script>
</body>
</html>
`;

// The page's only script of its own is served as a file: the CSP forbids inline scripts.
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: '${API_PREFIX}/openapi.json', dom_id: '#swagger-ui', deepLinking: true });\n`;

/**
 * The OpenAPI document, generated on first request from every mounted route spec, and a rendered
 * docs page (Swagger UI, served from the swagger-ui-dist package: no CDN needed).
 */
export function openApiRoutes(allRoutes: () => RouteSpec[], info: { title: string; version: string; serverUrl: string }): RouteSpec[] {
  let document: Record<string, unknown> | undefined;
  const assetCache = new Map<string, Buffer>();
  return [
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openApiDocument',
      summary: 'This API as an OpenAPI 3.1 document',
      tags: ['docs'],
      access: 'public',
      responses: { 200: z.record(z.string(), z.unknown()) },
      handler: async () => {
        document ??= buildOpenApiDocument(allRoutes(), info);
        return { status: 200, body: document };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/docs',
      operationId: 'docsPage',
      summary: 'Rendered API documentation',
      tags: ['docs'],
      access: 'public',
      produces: 'text/html',
      responses: { 200: z.string() },
      handler: async () => ({ status: 200, body: DOCS_PAGE, headers: { 'Content-Type': 'text/html; charset=utf-8' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/docs/init.js',
      operationId: 'docsInitScript',
      summary: 'Start-up script of the docs page',
      tags: ['docs'],
      access: 'public',
      produces: 'application/javascript',
      responses: { 200: z.string() },
      handler: async () => ({ status: 200, body: INIT_SCRIPT, headers: { 'Content-Type': 'application/javascript; charset=utf-8' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/docs/assets/:file',
      operationId: 'docsAsset',
      summary: 'Static assets of the docs page',
      tags: ['docs'],
      access: 'public',
      params: z.object({ file: z.string().max(64) }).strict(),
      produces: 'application/octet-stream',
      responses: { 200: z.unknown() },
      errors: [404],
      handler: async ({ params }) => {
        const type = ASSETS[params.file];
        if (!type) throw new NotFoundError('Asset');
        let body = assetCache.get(params.file);
        if (!body) {
          body = await readFile(path.join(SWAGGER_DIR, params.file));
          assetCache.set(params.file, body);
        }
        return { status: 200, body, headers: { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' } };
      },
    }),
  ];
}
