import { existsSync } from 'node:fs';
import path from 'node:path';
import { CACHE_DIR, freePort, startProcess, waitFor } from './process.js';

/** Keep in step with scripts/provision.sh, which builds this version from the Go module proxy. */
export const TOXIPROXY_VERSION = process.env.TOXIPROXY_VERSION ?? 'v2.12.0';
export const TOXIPROXY_BINARY = path.join(CACHE_DIR, `toxiproxy-${TOXIPROXY_VERSION}`, 'toxiproxy-server');

/** A toxic as toxiproxy's API takes it (https://github.com/Shopify/toxiproxy#toxics). */
export interface Toxic {
  name: string;
  type: 'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data';
  stream?: 'upstream' | 'downstream';
  toxicity?: number;
  attributes: Record<string, number>;
}

export interface Proxy {
  name: string;
  /** Where clients connect (127.0.0.1). */
  port: number;
  upstreamPort: number;
}

export interface Toxiproxy {
  url: string;
  /** A TCP proxy from `listenPort` (a free one when absent) to 127.0.0.1:`upstreamPort`. */
  createProxy(name: string, upstreamPort: number, listenPort?: number): Promise<Proxy>;
  addToxic(proxy: string, toxic: Toxic): Promise<void>;
  removeToxic(proxy: string, toxic: string): Promise<void>;
  /** A disabled proxy closes its connections and refuses new ones: a network partition. */
  setEnabled(proxy: string, enabled: boolean): Promise<void>;
  /** Every proxy enabled again, every toxic removed. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Shopify's toxiproxy (built by provision.sh) on 127.0.0.1: TCP proxies between processes and the
 * services they use, with faults ("toxics") added and removed through its HTTP API.
 */
export async function startToxiproxy(logDir: string): Promise<Toxiproxy> {
  if (!existsSync(TOXIPROXY_BINARY)) throw new Error(`toxiproxy missing at ${TOXIPROXY_BINARY}: run scripts/provision.sh`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = startProcess('toxiproxy', TOXIPROXY_BINARY, ['-host', '127.0.0.1', '-port', String(port)], {
    cwd: logDir,
    logFile: path.join(logDir, 'toxiproxy.log'),
  });
  await waitFor('toxiproxy', async () => (await fetch(`${url}/version`)).ok, 10_000, proc.child);

  const call = async (method: string, route: string, body?: unknown, okStatuses: number[] = []): Promise<unknown> => {
    const res = await fetch(`${url}${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok && !okStatuses.includes(res.status)) throw new Error(`toxiproxy ${method} ${route}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };

  return {
    url,
    async createProxy(name, upstreamPort, listenPort) {
      const listen = listenPort ?? (await freePort());
      await call('POST', '/proxies', { name, listen: `127.0.0.1:${listen}`, upstream: `127.0.0.1:${upstreamPort}`, enabled: true });
      return { name, port: listen, upstreamPort };
    },
    async addToxic(proxy, toxic) {
      await call('POST', `/proxies/${proxy}/toxics`, { stream: 'downstream', toxicity: 1, ...toxic });
    },
    async removeToxic(proxy, toxic) {
      await call('DELETE', `/proxies/${proxy}/toxics/${toxic}`, undefined, [404]);
    },
    async setEnabled(proxy, enabled) {
      await call('POST', `/proxies/${proxy}`, { enabled });
    },
    async reset() {
      await call('POST', '/reset');
    },
    stop: () => proc.stop(5_000),
  };
}
