import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CACHE_DIR } from '../services/process.js';

/** The version scripts/provision.sh installs into this venv, read from its pin. */
export const SCHEMATHESIS_VERSION =
  /SCHEMATHESIS_VERSION="\$\{SCHEMATHESIS_VERSION:-([^}]+)\}"/.exec(readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'provision.sh'), 'utf8'))?.[1] ??
  '4.32.0';
export const SCHEMATHESIS_BIN = path.join(CACHE_DIR, `schemathesis-${SCHEMATHESIS_VERSION}`, 'bin', 'schemathesis');

/**
 * Operations a fuzzer must not call with the run's only session: they end it (logout, password
 * change, account deletion) or lock it out, and every later case would only test a 401.
 */
export const SESSION_ENDING_OPERATIONS = ['logout', 'logoutAll', 'changePassword', 'deleteMe'];
/** Answers that never end by design (the SSE stream): schemathesis would wait out its timeout on each case. */
export const STREAMING_OPERATIONS = ['notificationStream'];

/**
 * The fuzz profile: FUZZ_MAX_EXAMPLES (per operation; the test's short profile is 2), FUZZ_SEED,
 * FUZZ_REPORT_DIR (JUnit reports; a temp dir by default).
 */
export function fuzzProfile(defaults: { maxExamples: number; seed: number }): { maxExamples: number; seed: number; reportDir: string } {
  return {
    maxExamples: Number(process.env.FUZZ_MAX_EXAMPLES ?? defaults.maxExamples),
    seed: Number(process.env.FUZZ_SEED ?? defaults.seed),
    reportDir: process.env.FUZZ_REPORT_DIR ?? mkdtempSync(path.join(tmpdir(), 'api-fuzz-')),
  };
}

export interface FuzzRun {
  /** Who the run is authenticated as, for the report. */
  label: string;
  baseUrl: string;
  accessToken: string;
  maxExamples: number;
  seed: number;
  /** Operations left out, by operationId. */
  exclude?: string[];
  reportDir: string;
}

export interface FuzzSummary {
  label: string;
  exitCode: number | null;
  cases: number;
  /** schemathesis's own count line, e.g. "7250 generated, 7250 passed, 38 skipped". */
  casesLine: string;
  junitPath: string;
  output: string;
}

/** Runs schemathesis against the API's own OpenAPI document with every check on. */
export async function runSchemathesis(run: FuzzRun): Promise<FuzzSummary> {
  if (!existsSync(SCHEMATHESIS_BIN)) throw new Error(`schemathesis missing at ${SCHEMATHESIS_BIN}: run scripts/provision.sh`);
  mkdirSync(run.reportDir, { recursive: true });
  const junitPath = path.join(run.reportDir, `${run.label}.junit.xml`);
  const args = [
    '--config-file',
    path.join(path.dirname(fileURLToPath(import.meta.url)), 'schemathesis.toml'),
    'run',
    `${run.baseUrl}/api/v1/openapi.json`,
    '--checks', 'all',
    '--max-examples', String(run.maxExamples),
    '--seed', String(run.seed),
    '--header', `Authorization: Bearer ${run.accessToken}`,
    '--report', 'junit',
    '--report-junit-path', junitPath,
    '--continue-on-failure',
    '--no-color',
    '--workers', '2',
    '--request-timeout', '10',
  ];
  for (const id of run.exclude ?? []) args.push('--exclude-operation-id', id);
  const output = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
    // Its cache (.schemathesis/) goes beside the reports, not into the checkout.
    const child = spawn(SCHEMATHESIS_BIN, args, { cwd: run.reportDir, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_HOOKS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, text }));
  });
  const casesLine = /Test cases:\s*\n\s*(.*)/.exec(output.text)?.[1] ?? '';
  return { label: run.label, exitCode: output.code, cases: Number(/(\d+) generated/.exec(casesLine)?.[1] ?? 0), casesLine, junitPath, output: output.text };
}
