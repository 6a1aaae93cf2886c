import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { CACHE_DIR } from '../../../scripts/services/process.js';

const run = promisify(execFile);

/** actionlint as scripts/provision.sh builds it (the version is read from that script), else from PATH. */
function actionlintBinary(): string {
  const version = /ACTIONLINT_VERSION:-(v[0-9.]+)/.exec(readFileSync('scripts/provision.sh', 'utf8'))?.[1];
  const cached = path.join(CACHE_DIR, `actionlint-${version}`, 'actionlint');
  return existsSync(cached) ? cached : 'actionlint';
}

async function commandExists(name: string): Promise<boolean> {
  return run('bash', ['-c', `command -v ${name}`]).then(
    () => true,
    () => false,
  );
}

async function check(cmd: string, args: string[]): Promise<void> {
  try {
    await run(cmd, args);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}:\n${e.stdout ?? ''}${e.stderr ?? e.message}`, { cause: err });
  }
}

interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { services?: Record<string, unknown>; env?: Record<string, string>; steps: Array<{ run?: string; uses?: string; env?: Record<string, string> }> }>;
}

function workflow(name: string): { doc: Workflow; text: string } {
  const text = readFileSync(path.join('.github/workflows', name), 'utf8');
  return { doc: parse(text) as Workflow, text };
}

describe('GitHub workflows and deploy scripts (actionlint, shellcheck)', function () {
  this.timeout(60_000);

  it('when actionlint checks .github/workflows, then it reports nothing (including shellcheck on run: steps)', async function () {
    const bin = actionlintBinary();
    if (bin === 'actionlint' && !(await commandExists('actionlint'))) throw new Error('actionlint is missing: run scripts/provision.sh');
    await check(bin, ['-color=false', '.github/workflows/ci.yml', '.github/workflows/deploy.yml']);
  });

  it('when CI is read, then it lints, typechecks and tests against service containers the harness uses', function () {
    const { doc } = workflow('ci.yml');
    const runs = Object.values(doc.jobs).flatMap((j) => j.steps.map((s) => s.run ?? '')).join('\n');
    expect(runs).to.match(/npm run lint/);
    expect(runs).to.match(/npm run typecheck/);
    // The README's test command, which provisions what the tests run and start privately.
    expect(runs.split('\n').map((l) => l.trim())).to.include('npm test');
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).to.match(/^npm test\s+#/m);
    const test = doc.jobs.test!;
    expect(Object.keys(test.services ?? {}).sort()).to.deep.equal(['kafka', 'mariadb', 'mongo', 'redis']);
    expect(Object.keys(test.env ?? {}).sort()).to.deep.equal(['KAFKA_BROKERS', 'MARIADB_URL', 'MONGO_URL', 'REDIS_URL']);
  });

  it('when deploy is read, then it pushes the image and runs the deploy script kept in the repo, secrets only by reference', function () {
    const { doc, text } = workflow('deploy.yml');
    expect(Object.keys(doc.on)).to.include('push');
    expect(JSON.stringify(doc.on)).to.match(/"tags":\["v\*"\]/);
    const steps = Object.values(doc.jobs).flatMap((j) => j.steps);
    expect(steps.some((s) => s.uses?.startsWith('docker/build-push-action@'))).to.equal(true);
    expect(steps.map((s) => s.run ?? '').join('\n')).to.match(/bash scripts\/deploy\.sh/);
    // Every secret is a ${{ secrets.X }} reference; nothing that looks like a credential is literal.
    for (const step of steps) {
      for (const [key, value] of Object.entries(step.env ?? {})) {
        if (/KEY|TOKEN|PASSWORD|SECRET|KNOWN_HOSTS/.test(key)) expect(value, key).to.match(/^\$\{\{ secrets\.[A-Z_]+ \}\}$/);
      }
    }
    expect(text).to.not.match(/BEGIN [A-Z ]*PRIVATE KEY|ghp_[A-Za-z0-9]{20,}/);
  });

  it('when the shell scripts are parsed, then bash accepts them', async function () {
    for (const script of ['scripts/deploy.sh', 'scripts/provision.sh', 'ops/mongo/init-app-user.sh']) await check('bash', ['-n', script]);
  });

  it('when shellcheck reads the shell scripts, then it reports nothing', async function () {
    if (!(await commandExists('shellcheck'))) this.skip();
    await check('shellcheck', ['scripts/deploy.sh', 'scripts/provision.sh', 'ops/mongo/init-app-user.sh']);
  });
});
