import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Context, Middleware, Next } from 'koa';
import { AppError, NotFoundError, ValidationError } from '../../kernel/errors.js';

/** Where the web app is served. Vite builds it with the same base (web/vite.config.ts). */
export const WEB_BASE = '/app/';

/** The package root: the nearest folder above this module with a package.json (source and compiled layouts alike). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above src/http');
    dir = parent;
  }
  return dir;
}

/** `npm run build:web` writes here. */
export const WEB_DIST_DIR = path.join(packageRoot(), 'web', 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.webmanifest', '.txt']);
/** Hashed file names never change content: cache them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface CachedFile {
  mtimeMs: number;
  size: number;
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
}

/**
 * The web app's static files (web/dist) under `/app/`, with an SPA fallback: any path below
 * `/app/` that is not a file gets index.html (revalidated on every load: `no-cache` + ETag), so
 * deep links work; hashed assets under `/app/assets/` are cached for a year and answer 404 when
 * missing (a stale page must not get HTML for a script). `/` redirects to the app (browsers keep
 * the `#fragment`, which the OAuth landing uses). When web/dist is missing the app path answers
 * 503 problem+json naming the build command; the API itself is unaffected.
 *
 * Files are read on first use and kept with a gzip copy while their mtime and size stay the same,
 * so a rebuild is picked up without a restart.
 */
export function webAppRoutes(options: { distDir?: string } = {}): Middleware {
  const distDir = path.resolve(options.distDir ?? WEB_DIST_DIR);
  const cache = new Map<string, CachedFile>();

  async function load(file: string): Promise<CachedFile | null> {
    let stat;
    try {
      stat = statSync(file);
    } catch {
      return null;
    }
    if (!stat.isFile()) return null;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit;
    const body = await readFile(file);
    const gzip = COMPRESSIBLE.has(path.extname(file)) && body.length > 1024 ? gzipSync(body, { level: 9 }) : null;
    const entry = { mtimeMs: stat.mtimeMs, size: stat.size, body, gzip, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
    cache.set(file, entry);
    return entry;
  }

  function send(ctx: Context, file: string, entry: CachedFile, cacheControl: string): void {
    ctx.set('Cache-Control', cacheControl);
    ctx.set('Vary', 'Accept-Encoding');
    ctx.type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    ctx.etag = entry.etag;
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    if (entry.gzip && ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
      ctx.set('Content-Encoding', 'gzip');
      ctx.body = entry.gzip;
    } else {
      ctx.body = entry.body;
    }
  }

  return async function webApp(ctx: Context, next: Next): Promise<void> {
    const reqPath = ctx.path;
    const isGet = ctx.method === 'GET' || ctx.method === 'HEAD';
    if (reqPath === '/' && isGet) return ctx.redirect(WEB_BASE);
    if (reqPath === '/app' && isGet) return ctx.redirect(WEB_BASE + (ctx.querystring ? `?${ctx.querystring}` : ''));
    if (!reqPath.startsWith(WEB_BASE)) return next();

    // One metrics label for the whole app, never the raw path.
    const isAsset = reqPath.startsWith(`${WEB_BASE}assets/`);
    (ctx as Context & { _matchedRoute?: string })._matchedRoute = isAsset ? '/app/assets/*' : '/app/*';
    if (!isGet) {
      ctx.set('Allow', 'GET, HEAD');
      ctx.throw(405);
    }

    let relative: string;
    try {
      relative = decodeURIComponent(reqPath.slice(WEB_BASE.length));
    } catch {
      throw new ValidationError('Malformed path');
    }
    const file = path.join(distDir, relative);
    const inside = file === distDir || file.startsWith(distDir + path.sep);
    if (!inside || relative.includes('\0')) throw new NotFoundError('File');

    if (isAsset) {
      const entry = await load(file);
      if (!entry) throw new NotFoundError('Asset');
      return send(ctx, file, entry, IMMUTABLE);
    }
    // Top-level files of the build (favicon, ...) as themselves; everything else is a page of the app.
    const own = relative !== '' && !relative.includes('/') && relative !== 'index.html' ? await load(file) : null;
    if (own) return send(ctx, file, own, 'public, max-age=3600');
    const index = path.join(distDir, 'index.html');
    const page = await load(index);
    if (!page) throw new AppError(503, 'web_app_not_built', 'The web app is not built: run `npm run build:web`', { expose: true });
    send(ctx, index, page, 'no-cache');
  };
}
