import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions protocol, scripted per
 * request: each POST /v1/chat/completions takes the next step of the script (the last one repeats).
 */

export interface Step {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as the assistant message content inside a normal completion envelope. */
  content?: string;
  /** Sent as the raw body instead of a completion envelope. */
  rawBody?: string;
  /** Computes the assistant message content from the request body (a stand-in model). */
  respond?: (body: unknown) => string;
  delayMs?: number;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  at: number;
}

export interface FakeOpenAi {
  baseUrl: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export function completion(content: string): string {
  return JSON.stringify({
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 0,
    model: 'test-model',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
}

export async function startFakeOpenAi(script: Step[]): Promise<FakeOpenAi> {
  const requests: SeenRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // keep the raw text; the test will see it
      }
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: Date.now() });
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404).end();
        return;
      }
      const step = script[Math.min(requests.length - 1, script.length - 1)] ?? {};
      const send = () => {
        timers.delete(timer);
        if (res.destroyed) return;
        res.writeHead(step.status ?? 200, { 'content-type': 'application/json', ...step.headers });
        const content = step.respond ? step.respond(body) : step.content;
        res.end(step.rawBody ?? (content !== undefined ? completion(content) : '{}'));
      };
      const timer = setTimeout(send, step.delayMs ?? 0);
      timers.add(timer);
      res.on('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
