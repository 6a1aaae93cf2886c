import { setTimeout as sleep } from 'node:timers/promises';
import type { FallbackReason } from '../analyzer.js';
import { backoffDelay } from '../../../kernel/backoff.js';

/**
 * A minimal client for OpenAI-compatible `POST {baseUrl}/chat/completions`: one timeout per
 * attempt, retries with exponential backoff and jitter on 408/429/5xx and network errors, and
 * Retry-After honoured (capped). Returns the assistant message content; knows nothing about diaries.
 */

export interface ChatEndpoint {
  baseUrl: string;
  apiKey?: string;
  timeoutMs: number;
  maxRetries: number;
  /** First backoff delay; doubles per retry. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Upper bound on a server's Retry-After, so one header cannot stall a worker. */
  retryAfterMaxMs?: number;
}

export class ChatCallError extends Error {
  constructor(
    readonly reason: FallbackReason,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ChatCallError';
  }
}

export interface RetryNotice {
  attempt: number;
  delayMs: number;
  status?: number;
}

const RETRYABLE_STATUS = new Set([408, 409, 425, 429]);
const DEFAULT_BACKOFF_BASE_MS = 250;
const DEFAULT_BACKOFF_MAX_MS = 4_000;
const DEFAULT_RETRY_AFTER_MAX_MS = 10_000;

export async function postChatCompletion(
  endpoint: ChatEndpoint,
  body: unknown,
  options: { signal?: AbortSignal; onRetry?: (notice: RetryNotice) => void } = {},
): Promise<string> {
  const url = `${endpoint.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (endpoint.apiKey) headers.authorization = `Bearer ${endpoint.apiKey}`;
  const payload = JSON.stringify(body);

  for (let attempt = 0; ; attempt++) {
    const canRetry = attempt < endpoint.maxRetries;
    const timeout = AbortSignal.timeout(endpoint.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method: 'POST', headers, body: payload, signal });
      text = await response.text();
    } catch (err) {
      options.signal?.throwIfAborted();
      if (timeout.aborted) {
        // A slow model tends to stay slow; waiting timeoutMs again would only delay the fallback.
        throw new ChatCallError('timeout', `no answer within ${endpoint.timeoutMs} ms`);
      }
      if (!canRetry) throw new ChatCallError('retries_exhausted', `network error: ${(err as Error).message}`);
      await pause(attempt, undefined, endpoint, options);
      continue;
    }

    if (response.ok) return extractContent(text);
    const status = response.status;
    if (!(RETRYABLE_STATUS.has(status) || status >= 500)) {
      throw new ChatCallError('rejected', `endpoint answered ${status}`, status);
    }
    if (!canRetry) throw new ChatCallError('retries_exhausted', `endpoint answered ${status} after ${attempt + 1} attempts`, status);
    await pause(attempt, { status, retryAfter: response.headers.get('retry-after') }, endpoint, options);
  }
}

async function pause(
  attempt: number,
  failure: { status: number; retryAfter: string | null } | undefined,
  endpoint: ChatEndpoint,
  options: { signal?: AbortSignal; onRetry?: (notice: RetryNotice) => void },
): Promise<void> {
  const delayMs = retryDelay(attempt, failure?.retryAfter ?? null, endpoint);
  options.onRetry?.({ attempt: attempt + 1, delayMs, status: failure?.status });
  await sleep(delayMs, undefined, { signal: options.signal });
}

/** Retry-After (seconds or an HTTP date) when given, capped; otherwise exponential backoff with equal jitter. */
export function retryDelay(attempt: number, retryAfter: string | null, endpoint: ChatEndpoint, now = Date.now()): number {
  const cap = endpoint.retryAfterMaxMs ?? DEFAULT_RETRY_AFTER_MAX_MS;
  if (retryAfter !== null && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1_000 : Date.parse(retryAfter) - now;
    if (Number.isFinite(ms)) return Math.min(cap, Math.max(0, Math.round(ms)));
  }
  // `attempt` counts from 0 here.
  return backoffDelay(attempt + 1, { baseMs: endpoint.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS, maxMs: endpoint.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS });
}

function extractContent(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ChatCallError('invalid_output', 'response body is not JSON');
  }
  const message = (parsed as { choices?: Array<{ message?: { content?: unknown; refusal?: unknown } }> })?.choices?.[0]
    ?.message;
  if (message?.refusal) throw new ChatCallError('invalid_output', 'the model refused');
  if (typeof message?.content !== 'string' || message.content.length === 0) {
    throw new ChatCallError('invalid_output', 'no message content in the response');
  }
  return message.content;
}
