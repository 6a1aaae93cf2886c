import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createEmbeddingClient, type EmbeddingClient } from '../../workers/analyzers/embedding/embedding-client.js';

/**
 * Embeddings of corpus texts, cached in a gitignored JSON Lines file keyed by the sha256 of the
 * model id, the input type and the text, so re-fitting the heads after a rule change embeds
 * nothing again. Misses go to the sidecar in batches. The returned object is an EmbeddingClient,
 * so the analyzer itself can run on cached vectors (the training script scores dev through it).
 */

export const EMBEDDING_CACHE_DIR = path.resolve(import.meta.dirname, '../../.cache/embeddings');
const FETCH_BATCH = 32;

export interface CachedEmbedder extends EmbeddingClient {
  /** Embeds every text not in the cache yet (through the sidecar) and appends it to the file. */
  warm(texts: string[], onProgress?: (done: number, total: number) => void): Promise<void>;
  /** Texts embedded by the sidecar in this process (the others came from the file). */
  fetched(): number;
}

export function createCachedEmbedder(options: { url: string; model: string; inputType: 'query' | 'passage' }): CachedEmbedder {
  mkdirSync(EMBEDDING_CACHE_DIR, { recursive: true });
  const file = path.join(EMBEDDING_CACHE_DIR, `${options.model}-${options.inputType}.jsonl`);
  const key = (text: string) => createHash('sha256').update(`${options.model}\n${options.inputType}\n${text}`).digest('hex');
  const cache = new Map<string, Float32Array>();
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const { k, v } = JSON.parse(line) as { k: string; v: string };
      const bytes = Buffer.from(v, 'base64');
      cache.set(k, new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4).slice());
    }
  }
  const remote = createEmbeddingClient({ baseUrl: options.url, timeoutMs: 120_000, batchMaxTexts: FETCH_BATCH, batchDelayMs: 0, healthIntervalMs: 1_000, model: options.model, inputType: options.inputType });
  let fetched = 0;

  async function warm(texts: string[], onProgress?: (done: number, total: number) => void): Promise<void> {
    const missing = [...new Set(texts)].filter((t) => !cache.has(key(t)));
    for (let i = 0; i < missing.length; i += FETCH_BATCH) {
      const batch = missing.slice(i, i + FETCH_BATCH);
      const vectors = await remote.embed(batch);
      const lines = batch.map((t, j) => {
        cache.set(key(t), vectors[j]!);
        return JSON.stringify({ k: key(t), v: Buffer.from(vectors[j]!.buffer, vectors[j]!.byteOffset, vectors[j]!.byteLength).toString('base64') });
      });
      appendFileSync(file, `${lines.join('\n')}\n`);
      fetched += batch.length;
      onProgress?.(Math.min(i + FETCH_BATCH, missing.length), missing.length);
    }
  }

  return {
    warm,
    fetched: () => fetched,
    async embed(texts: string[]): Promise<Float32Array[]> {
      await warm(texts);
      return texts.map((t) => cache.get(key(t))!);
    },
    available: () => true,
    probe: () => Promise.resolve(true),
  };
}
