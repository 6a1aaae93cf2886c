import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { freePort, tcpOpen, waitFor } from './process.js';

const run = promisify(execFile);

export const NGINX_BIN = '/usr/sbin/nginx';
export const NGINX_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../ops/nginx');
export const SITE_TEMPLATE = path.join(NGINX_DIR, 'templates', 'emotion-diary.conf.template');

/**
 * What the nginx image's entrypoint does with /etc/nginx/templates: replaces `${NAME}` only for
 * the names it is given and leaves every other `$name` (nginx's own variables) alone.
 */
export function renderTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => vars[name] ?? whole);
}

/** The `${NAME}` placeholders a template expects. */
export function templateVariables(template: string): string[] {
  return [...new Set([...template.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!))].sort();
}

export interface RunningNginx {
  port: number;
  url: string;
  prefix: string;
  accessLog: string;
  stop(): Promise<void>;
}

/**
 * The site template for `upstreams` (host:port, two or more): as the template says, each instance
 * past the second is one more `server` line in both upstream blocks.
 */
export function renderSite(template: string, upstreams: string[], vars: Record<string, string>): string {
  if (upstreams.length < 2) throw new Error('the site template needs at least two API instances');
  const widened = template.replace(/^.*\$\{NGINX_API2\}.*$/gm, (line) => upstreams.slice(1).map((_, i) => line.replace('${NGINX_API2}', `\${NGINX_API${i + 2}}`)).join('\n'));
  return renderTemplate(widened, { ...vars, ...Object.fromEntries(upstreams.map((u, i) => [`NGINX_API${i + 1}`, u])) });
}

/**
 * Lays out the project's nginx.conf plus the rendered site template in a temp prefix, checks it
 * with `nginx -t`, and runs it in the foreground on a free 127.0.0.1 port. Temp paths live under
 * the prefix, so this works without root.
 */
export async function startNginx(upstreams: string[]): Promise<RunningNginx> {
  const prefix = mkdtempSync(path.join(tmpdir(), 'emotion-diary-nginx-'));
  // Workers run as an unprivileged user when the master is root; let them reach the temp dirs.
  chmodSync(prefix, 0o755);
  const sites = path.join(prefix, 'sites');
  mkdirSync(sites);
  copyFileSync(path.join(NGINX_DIR, 'nginx.conf'), path.join(prefix, 'nginx.conf'));
  const port = await freePort();
  const accessLog = path.join(prefix, 'access.log');
  const vars = { NGINX_LISTEN: `127.0.0.1:${port}`, NGINX_ACCESS_LOG: accessLog };
  writeFileSync(path.join(sites, 'emotion-diary.conf'), renderSite(readFileSync(SITE_TEMPLATE, 'utf8'), upstreams, vars));
  // Debian's compiled-in temp paths are under /var/lib/nginx; point them into the prefix.
  const tempPaths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => {
    const dir = path.join(prefix, 'tmp', kind);
    mkdirSync(dir, { recursive: true });
    return `${kind}_temp_path ${dir};`;
  });
  writeFileSync(path.join(sites, '00-local-paths.conf'), `${tempPaths.join('\n')}\n`);

  const args = ['-p', `${prefix}/`, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'error.log')];
  const globals = `pid ${path.join(prefix, 'nginx.pid')};`;
  await run(NGINX_BIN, [...args, '-t', '-q', '-g', globals]).catch((err: { stderr?: string }) => {
    throw new Error(`nginx -t failed: ${err.stderr ?? String(err)}`);
  });

  const child: ChildProcess = spawn(NGINX_BIN, [...args, '-g', `daemon off; ${globals}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitFor('nginx', () => tcpOpen(port), 10_000, child);
  } catch (err) {
    child.kill('SIGKILL');
    const log = readFileSync(path.join(prefix, 'error.log'), 'utf8');
    throw new Error(`${(err as Error).message}\n${stderr}\n${log}`, { cause: err });
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    prefix,
    accessLog,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGQUIT'); // graceful shutdown
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
