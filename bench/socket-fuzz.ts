/**
 * Socket fuzzing against ONE api process, with figures:
 *   npx tsx bench/socket-fuzz.ts [--abusers 50] [--frames 500] [--quiet 10] [--duration 30] [--seed 20261201]
 *
 * Starts the services in a temp dir (or uses *_URL), migrates, runs `src/main.ts api` as a child
 * process (production profile on loopback), connects a well-behaved device of one user and measures
 * its round trip (an acked `notifications:ack` every 250 ms, inside the per-socket event budget) for
 * --quiet s; then --abusers raw engine.io / Socket.IO connections at a time (a third with valid
 * tokens of other users, a third forged, a third none), wave after wave for --duration s, each
 * sending up to --frames abusive frames (scripts/fuzz/socket-fuzz.ts: random bytes and text,
 * truncated packets, engine.io garbage, every event with wrong types, prototype-pollution keys,
 * deep and huge payloads, attachments that never come, namespaces not joined, forged ack ids,
 * floods) while the device keeps probing. Prints and writes bench/results/socket-fuzz.json: frames,
 * connections, how many the server dropped, the device's p50/p99 quiet and under fuzz (target: p99
 * within 2x), the api's RSS before and after, and whether it stayed up. Exits 1 if the api died,
 * stopped answering /readyz, or the device missed a probe or was disconnected.
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../kernel/logger.js';
import { runMigrate } from '../src/cli/migrate-command.js';
import { runSocketFuzz, type AbuseKind } from '../scripts/fuzz/socket-fuzz.js';
import { createBenchUsers, freePort, log, machineInfo, numericArgs, runBench, spawnApp, startBenchServices, table, waitForHttp, withTimeout, writeBenchResults } from './bench-support.js';

const USAGE = 'usage: npx tsx bench/socket-fuzz.ts [--abusers 50] [--frames 500] [--quiet 10] [--duration 30] [--seed 20261201]';
const P99_RATIO_TARGET = 2;

function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

runBench('socket-fuzz', async () => {
  const args = numericArgs(process.argv.slice(2), { abusers: 50, frames: 500, quiet: 10, duration: 30, seed: 20261201 }, USAGE);
  log(machineInfo());
  const bench = await startBenchServices('sockfuzz', { profile: process.env.BENCH_PROFILE ?? 'production' });
  const port = await freePort();
  const env = { ...bench.env, PORT: String(port), INSTANCE_ID: 'bench-sockfuzz' };
  const config = loadConfig(env);
  await withTimeout(runMigrate(config, createLogger(config, 'bench'), 'up'), 120_000, 'migrate');
  const users = await createBenchUsers(config, 'sf', 4);
  const api = spawnApp(bench, 'api', 'api', env);
  const baseUrl = `http://127.0.0.1:${port}`;
  const apiLog = path.join(bench.rootDir, 'logs', 'api.log');
  await waitForHttp(`${baseUrl}/readyz`, api, 90_000, apiLog);
  // The api runs under a bash watchdog: its node process is the watchdog's child.
  const nodePid = Number(execSync(`pgrep -P ${api.pid} -f src/main.ts`).toString().trim().split('\n')[0]);
  const rssBefore = rssKiB(nodePid);
  log(`api ready at ${baseUrl} (node pid ${nodePid}, RSS ${(rssBefore / 1024).toFixed(0)} MiB); fuzzing ${args.abusers} connections at a time for ${args.duration} s`);

  const result = await runSocketFuzz({
    baseUrl,
    victimToken: users[0]!.token,
    abuserTokens: users.slice(1).map((u) => u.token),
    abusers: args.abusers,
    framesPerAbuser: args.frames,
    quietMs: args.quiet * 1000,
    fuzzMs: args.duration * 1000,
    seed: args.seed,
    maxPayloadBytes: config.realtime.maxPayloadBytes,
    // SOCKET_FUZZ_KINDS=deep,flood: only those kinds (to find which one costs).
    kinds: process.env.SOCKET_FUZZ_KINDS ? (process.env.SOCKET_FUZZ_KINDS.split(',') as AbuseKind[]) : undefined,
  });
  const ready = await fetch(`${baseUrl}/readyz`).then((r) => r.status, () => 0);
  const exited = await Promise.race([api.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100))]);
  const rssAfter = rssKiB(nodePid);

  console.log(`\nsocket-fuzz: seed ${result.seed}; ${result.abusers} abusive connections (${args.abusers} at a time), ${result.framesSent} frames; the server dropped ${result.dropped}`);
  console.log(`frames by kind: ${Object.entries(result.kinds).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  console.log(
    table(
      ['other user\'s device (acked round trip)', 'probes', 'answered', 'p50 ms', 'p99 ms', 'max ms'],
      [
        ['quiet', result.quiet.probes, result.quiet.answered, result.quiet.p50, result.quiet.p99, result.quiet.max],
        ['under fuzz', result.underFuzz.probes, result.underFuzz.answered, result.underFuzz.p50, result.underFuzz.p99, result.underFuzz.max],
      ],
    ),
  );
  console.log(`p99 under fuzz / quiet: ${result.p99Ratio.toFixed(2)} (target <= ${P99_RATIO_TARGET}); api RSS ${(rssBefore / 1024).toFixed(0)} -> ${(rssAfter / 1024).toFixed(0)} MiB; /readyz ${ready}; api ${exited ? 'EXITED' : 'up'}`);
  writeBenchResults('socket-fuzz', [
    {
      path: `other user's round trip under socket fuzz, ${args.abusers} abusive connections at a time`,
      unit: 'ms p99',
      ours: Number(result.underFuzz.p99.toFixed(1)),
      baseline: Number(result.quiet.p99.toFixed(1)),
      baselineName: 'the same device, quiet server',
      better: 'lower',
      target: `<= ${P99_RATIO_TARGET}x quiet`,
      met: result.p99Ratio <= P99_RATIO_TARGET,
      detail: `${result.abusers} connections, ${result.framesSent} frames, ${result.dropped} dropped by the server; p50 ${result.quiet.p50.toFixed(1)} -> ${result.underFuzz.p50.toFixed(1)} ms; RSS ${(rssBefore / 1024).toFixed(0)} -> ${(rssAfter / 1024).toFixed(0)} MiB`,
    },
  ], { result, rssBeforeKiB: rssBefore, rssAfterKiB: rssAfter, ready });
  const problems = [
    ...(exited ? ['the api exited'] : []),
    ...(ready !== 200 ? [`/readyz answered ${ready}`] : []),
    ...(result.underFuzz.answered !== result.underFuzz.probes || result.quiet.answered !== result.quiet.probes ? ['the device missed probes'] : []),
    ...(!result.victimConnected ? ['the device was disconnected'] : []),
  ];
  for (const p of problems) console.log(`FAIL ${p} (log: ${apiLog})`);
  return problems.length === 0 ? 0 : 1;
});
