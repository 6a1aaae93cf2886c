/**
 * A minimal Chrome DevTools Protocol client for a child started with `--inspect=127.0.0.1:<port>`:
 * forced garbage collection before a memory reading (the same for our API and the baseline, with
 * no change to either), and a CPU profile of a chosen window with a short summary of where the
 * time went.
 */
import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { waitFor } from '../scripts/services/index.js';
import { ROOT } from './bench-support.js';
import { pendingRequests } from './pending-requests.js';

export interface Inspector {
  /** Full GC (twice, so finalizers' garbage goes too), then the process's `process.memoryUsage()`. */
  settledMemory(): Promise<NodeJS.MemoryUsage>;
  startProfile(samplingIntervalUs: number): Promise<void>;
  stopProfile(): Promise<CpuProfile>;
  /** Writes a heap snapshot (open it in Chrome DevTools' Memory tab) after a forced GC. */
  writeHeapSnapshot(file: string): Promise<void>;
  close(): void;
}

interface CallFrame {
  functionName: string;
  url: string;
}

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: CallFrame; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

export async function openInspector(port: number, timeoutMs: number): Promise<Inspector> {
  let target: string | undefined;
  await waitFor(
    `inspector on port ${port}`,
    async () => {
      const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(1_000) })).json()) as Array<{ webSocketDebuggerUrl?: string }>;
      target = list[0]?.webSocketDebuggerUrl;
      return target !== undefined;
    },
    timeoutMs,
  );
  const ws = new WebSocket(target!);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const requests = pendingRequests();
  let snapshotChunks: string[] | undefined;
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; method?: string; params?: { chunk?: string }; result?: unknown; error?: { message: string } };
    if (message.method === 'HeapProfiler.addHeapSnapshotChunk' && snapshotChunks) snapshotChunks.push(message.params?.chunk ?? '');
    if (message.id === undefined) return;
    if (message.error) requests.fail(message.id, new Error(`inspector: ${message.error.message}`));
    else requests.answer(message.id, message.result);
  });
  ws.on('close', () => requests.failAll(new Error('inspector connection closed')));
  const call = <T>(method: string, params: Record<string, unknown> = {}, timeout = 60_000): Promise<T> =>
    requests.request<T>(`inspector ${method}`, timeout, (id) => ws.send(JSON.stringify({ id, method, params })));

  return {
    async settledMemory() {
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
      const { result } = await call<{ result: { value?: string }; exceptionDetails?: unknown }>('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      });
      if (typeof result.value !== 'string') throw new Error('inspector: process.memoryUsage() not readable in the child');
      return JSON.parse(result.value) as NodeJS.MemoryUsage;
    },
    async startProfile(samplingIntervalUs) {
      await call('Profiler.enable');
      await call('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
      await call('Profiler.start');
    },
    async stopProfile() {
      const { profile } = await call<{ profile: CpuProfile }>('Profiler.stop');
      await call('Profiler.disable');
      return profile;
    },
    async writeHeapSnapshot(file) {
      await call('HeapProfiler.collectGarbage');
      snapshotChunks = [];
      await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 300_000);
      writeFileSync(file, snapshotChunks.join(''));
      snapshotChunks = undefined;
    },
    close: () => ws.close(),
  };
}

const ROOT_URL = `file://${ROOT}/`;

/** Where a frame's code comes from: an npm package, Node itself, a folder of ours, or V8. */
function origin(frame: CallFrame): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : `native ${frame.functionName || '(unknown)'}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(frame.url);
  if (pkg) return pkg[1]!;
  if (frame.url.startsWith('node:')) return 'node core';
  if (frame.url.startsWith(ROOT_URL)) return `ours: ${frame.url.slice(ROOT_URL.length).split('/')[0]}/`;
  return frame.url;
}

/** Function and file of one of our frames (no line: under tsx they point into generated code). */
function frameName(frame: CallFrame): string {
  return `${frame.functionName || '(anonymous)'} ${frame.url.slice(ROOT_URL.length)}`;
}

export interface ProfileSummary {
  /** Sampled time, idle excluded, in ms. */
  busyMs: number;
  /** Self time by origin (package, node core, our folder, GC), ms, largest first. */
  byOrigin: Array<[string, number]>;
  /** Inclusive time of our own functions (this repository, not node_modules), ms, largest first. */
  oursInclusive: Array<[string, number]>;
}

/** Self time by code origin and inclusive time of our own frames, from a V8 CPU profile. */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((nodeId, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(nodeId);
    if (!node || node.callFrame.functionName === '(idle)') return;
    busy += ms;
    const key = origin(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + ms);
    // Each of our functions on the stack counts once per sample, however deep the recursion.
    const seen = new Set<string>();
    for (let id: number | undefined = nodeId; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.url.startsWith(ROOT_URL) && !frame.url.includes('/node_modules/')) seen.add(frameName(frame));
    }
    for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
  });
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { busyMs: busy, byOrigin: sorted(self), oursInclusive: sorted(inclusive) };
}

export function writeProfile(file: string, profile: CpuProfile): void {
  writeFileSync(file, JSON.stringify(profile));
}
