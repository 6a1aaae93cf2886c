import path from 'node:path';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AnalysisInput, AnalysisResult, Analyzer } from '../analyzer.js';
import { analyzeOffline, OFFLINE_ANALYZER_VERSION } from './offline-analyzer.js';

/**
 * The offline analyzer on worker threads. It costs only CPU, about half a millisecond an entry; on
 * the event loop a chunk of 200 holds the loop for 100 ms, and the process never uses more than
 * one core. Here the worker's loop only fetches, stores and produces, while `threads` threads
 * analyse. The calls of one tick (a chunk's Promise.all) travel to the threads in one message per
 * thread, split evenly, and come back in one message each. A thread that dies fails its
 * outstanding calls (the batch handler retries them on its careful path) and is replaced a second
 * later (the delay doubling while threads keep dying); while no thread is up, calls are analysed on the event loop, as without the pool.
 * Same name, version and results as the in-process analyzer.
 */

export interface ThreadRequest {
  id: number;
  inputs: AnalysisInput[];
}

export type ThreadResult = { ok: true; result: AnalysisResult } | { ok: false; message: string };

export interface ThreadReply {
  id: number;
  results: ThreadResult[];
}

/** What a thread answers to a request: each entry analysed, in order (offline-thread.ts). */
export function answerThreadRequest(request: ThreadRequest): ThreadReply {
  return {
    id: request.id,
    results: request.inputs.map((input): ThreadResult => {
      try {
        return { ok: true, result: analyzeOffline(input) };
      } catch (err) {
        return { ok: false, message: err instanceof Error ? err.message : String(err) };
      }
    }),
  };
}

interface Call {
  input: AnalysisInput;
  resolve: (result: AnalysisResult) => void;
  reject: (err: Error) => void;
  signal?: AbortSignal;
}

interface Thread {
  worker: Worker;
  /** Calls sent and not yet answered, by message id. */
  sent: Map<number, Call[]>;
}

function outstanding(thread: Thread): number {
  let n = 0;
  for (const calls of thread.sent.values()) n += calls.length;
  return n;
}

export interface OfflineAnalyzerPool extends Analyzer {
  readonly threads: number;
  close(): Promise<void>;
}

// Compiled (dist/*.js) or run by tsx (*.ts): the thread's file has the extension this one has.
const RUNNING_TS = path.extname(fileURLToPath(import.meta.url)) === '.ts';
const THREAD_FILE = new URL(`./offline-thread${RUNNING_TS ? '.ts' : '.js'}`, import.meta.url);

/** tsx's ESM register API, by its package's export map (tests load this module as CommonJS, where import.meta.resolve is missing). */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(manifest), pkg.exports['./esm/api']!.import.default)).href;
}

/**
 * An idle thread does not hold the process open (a worker that failed to start must still exit);
 * one with calls outstanding does (see `flush`). A worker thread does not inherit tsx's loader
 * hooks (Node 20): under tsx the thread registers them first.
 */
function startThread(file: URL): Worker {
  const worker = file.pathname.endsWith('.ts') ? startTsThread(file) : new Worker(file);
  worker.unref();
  return worker;
}

function startTsThread(file: URL): Worker {
  const tsx = tsxEsmApi();
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(file.href)}); });`, { eval: true });
}

/** How long a dead thread's slot stays empty before it is started again; doubled while threads keep dying without answering, up to the max. */
const RESPAWN_DELAY_MS = 1_000;
const RESPAWN_DELAY_MAX_MS = 30_000;

export function createOfflineAnalyzerPool(options: {
  threads: number;
  onThreadError?: (err: Error) => void;
  /** The threads' script (tests start one that can be made to die); offline-thread by default. */
  threadFile?: URL;
}): OfflineAnalyzerPool {
  const threadFile = options.threadFile ?? THREAD_FILE;
  if (!Number.isInteger(options.threads) || options.threads < 1) throw new Error('the offline analyzer pool needs at least one thread');
  let closed = false;
  let nextId = 1;
  let queue: Call[] = [];
  let flushScheduled = false;
  /** Thread deaths since a thread last answered: a thread that cannot start is not restarted every second. */
  let deathsInARow = 0;

  const threads: Array<Thread | undefined> = [];
  const spawn = (): Thread => {
    const thread: Thread = { worker: startThread(threadFile), sent: new Map() };
    thread.worker.on('message', (reply: ThreadReply) => {
      const calls = thread.sent.get(reply.id);
      if (!calls) return;
      thread.sent.delete(reply.id);
      deathsInARow = 0;
      if (thread.sent.size === 0) thread.worker.unref();
      calls.forEach((call, i) => settle(call, reply.results[i]));
    });
    const fail = (err: Error) => {
      const index = threads.indexOf(thread);
      if (index < 0) return;
      for (const calls of thread.sent.values()) for (const call of calls) call.reject(err);
      thread.sent.clear();
      threads[index] = undefined;
      if (closed) return;
      options.onThreadError?.(err);
      const delay = Math.min(RESPAWN_DELAY_MAX_MS, RESPAWN_DELAY_MS * 2 ** deathsInARow++);
      setTimeout(() => {
        if (!closed) threads[index] = spawn();
      }, delay).unref();
    };
    thread.worker.on('error', (err) => fail(err));
    thread.worker.on('exit', (code) => fail(new Error(`offline analyzer thread exited (code ${code})`)));
    return thread;
  };
  for (let i = 0; i < options.threads; i++) threads.push(spawn());

  function settle(call: Call, outcome: ThreadResult | undefined): void {
    if (call.signal?.aborted) call.reject(abortError(call.signal));
    else if (outcome?.ok) call.resolve(outcome.result);
    else call.reject(new Error(outcome ? outcome.message : 'offline analyzer thread sent no result'));
  }

  function flush(): void {
    flushScheduled = false;
    const calls = queue.filter((call) => {
      if (!call.signal?.aborted) return true;
      call.reject(abortError(call.signal));
      return false;
    });
    queue = [];
    if (calls.length === 0) return;
    const live = threads.filter((t): t is Thread => t !== undefined);
    if (live.length === 0) {
      answerThreadRequest({ id: 0, inputs: calls.map((c) => c.input) }).results.forEach((outcome, i) => settle(calls[i]!, outcome));
      return;
    }
    // The least busy threads first; an even share each.
    const order = live.map((thread) => ({ thread, busy: outstanding(thread) })).sort((a, b) => a.busy - b.busy).map((t) => t.thread);
    const share = Math.ceil(calls.length / order.length);
    for (let i = 0, t = 0; i < calls.length; i += share, t++) {
      const thread = order[t]!;
      const slice = calls.slice(i, i + share);
      const id = nextId++;
      thread.sent.set(id, slice);
      thread.worker.ref();
      thread.worker.postMessage({ id, inputs: slice.map((c) => c.input) } satisfies ThreadRequest);
    }
  }

  return {
    name: 'offline',
    version: OFFLINE_ANALYZER_VERSION,
    threads: options.threads,
    parallel: true,
    analyze(input: AnalysisInput, signal?: AbortSignal): Promise<AnalysisResult> {
      if (closed) return Promise.reject(new Error('the offline analyzer pool is closed'));
      if (signal?.aborted) return Promise.reject(abortError(signal));
      return new Promise<AnalysisResult>((resolve, reject) => {
        // Only what a thread reads: the batch handler's objects carry more.
        queue.push({ input: { title: input.title, content: input.content, language: input.language }, resolve, reject, signal });
        if (!flushScheduled) {
          flushScheduled = true;
          queueMicrotask(flush);
        }
      });
    },
    async close(): Promise<void> {
      closed = true;
      const pending = queue;
      queue = [];
      for (const call of pending) call.reject(new Error('the offline analyzer pool is closed'));
      await Promise.all(threads.map((t) => t?.worker.terminate()));
    },
  };
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
