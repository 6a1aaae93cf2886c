import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * scripts/deploy.sh against a fake `docker` that keeps each service's image in a file: enough to
 * prove the order (pull, migrate, one API at a time, worker) and the rollback, without an engine.
 * A service whose image equals FAKE_BAD_IMAGE reports unhealthy and its /readyz fails.
 */
const FAKE_DOCKER = `#!/usr/bin/env bash
set -euo pipefail
state="$FAKE_DOCKER_STATE"
echo "$*" >> "$state/calls.log"
bad="\${FAKE_BAD_IMAGE:-}"
image_of() { cat "$state/$1.image" 2>/dev/null || true; }
case "$1" in
  pull) [ "\${FAKE_PULL_FAIL:-}" = 1 ] && exit 1; exit 0 ;;
  inspect)
    fmt="$3"; svc="\${4#id-}"; img="$(image_of "$svc")"
    if [[ "$fmt" == *Config.Image* ]]; then echo "$img"; exit 0; fi
    if [ -n "$bad" ] && [ "$img" = "$bad" ]; then echo unhealthy; else echo healthy; fi
    exit 0 ;;
  compose)
    shift
    while [[ "\${1:-}" == --* ]]; do shift 2; done
    sub="$1"; shift
    case "$sub" in
      ps) svc="\${*: -1}"; if [ -f "$state/$svc.image" ]; then echo "id-$svc"; fi; exit 0 ;;
      up) svc="\${*: -1}"; echo "$APP_IMAGE" > "$state/$svc.image"; exit 0 ;;
      run) [ "\${FAKE_MIGRATE_FAIL:-}" = 1 ] && exit 1; echo "$APP_IMAGE" >> "$state/migrations.log"; exit 0 ;;
      exec) img="$(image_of "$2")"; if [ -n "$bad" ] && [ "$img" = "$bad" ]; then exit 1; fi; exit 0 ;;
    esac ;;
esac
echo "fake docker: unexpected $*" >&2
exit 64
`;

interface Host {
  dir: string;
  state: string;
  image(service: string): string;
  calls(): string[];
  deploy(image: string, env?: Record<string, string>): { status: number | null; stderr: string };
}

function fakeHost(): Host {
  const dir = mkdtempSync(path.join(tmpdir(), 'emotion-diary-deploy-'));
  const bin = path.join(dir, 'bin');
  const state = path.join(dir, 'state');
  const stack = path.join(dir, 'stack');
  for (const d of [bin, state, stack]) mkdirSync(d);
  writeFileSync(path.join(bin, 'docker'), FAKE_DOCKER);
  chmodSync(path.join(bin, 'docker'), 0o755);
  writeFileSync(path.join(stack, 'docker-compose.yml'), 'services: {}\n');
  writeFileSync(path.join(stack, '.env'), 'APP_IMAGE=registry/app:old\nJWT_SECRET=x\n');
  for (const service of ['api1', 'api2', 'worker']) writeFileSync(path.join(state, `${service}.image`), 'registry/app:old\n');
  return {
    dir,
    state,
    image: (service) => readFileSync(path.join(state, `${service}.image`), 'utf8').trim(),
    calls: () => readFileSync(path.join(state, 'calls.log'), 'utf8').trim().split('\n'),
    deploy(image, env = {}) {
      const result = spawnSync('bash', [path.resolve('scripts/deploy.sh'), image], {
        cwd: stack,
        encoding: 'utf8',
        timeout: 30_000,
        env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_DOCKER_STATE: state, READY_TIMEOUT_SEC: '1', READY_POLL_SEC: '0.1', ...env },
      });
      return { status: result.status, stderr: result.stderr };
    },
  };
}

describe('scripts/deploy.sh (rolling deploy with a fake docker)', function () {
  this.timeout(30_000);
  let host: Host;

  beforeEach(function () {
    host = fakeHost();
  });

  afterEach(function () {
    rmSync(host.dir, { recursive: true, force: true });
  });

  it('when the new image is healthy, then it migrates first and restarts api1, api2, worker one at a time', function () {
    const { status, stderr } = host.deploy('registry/app:new');
    expect(status, stderr).to.equal(0);
    const order = host.calls().map((c) => /^(pull)|compose .*?\b(run) .*migrate$|compose .*?\b(up) .* (\w+)$/.exec(c)).filter(Boolean).map((m) => m!.slice(1).filter(Boolean).join(' '));
    expect(order).to.deep.equal(['pull', 'run', 'up api1', 'up api2', 'up worker']);
    expect(['api1', 'api2', 'worker'].map(host.image)).to.deep.equal(['registry/app:new', 'registry/app:new', 'registry/app:new']);
    expect(readFileSync(path.join(host.state, 'migrations.log'), 'utf8').trim()).to.equal('registry/app:new');
    const readiness = host.calls().filter((c) => c.includes('/readyz'));
    expect(readiness.some((c) => / exec -T api2 node -e .*127\.0\.0\.1:3000\/readyz/.test(c))).to.equal(true);
    expect(readiness.some((c) => / exec -T worker node -e .*127\.0\.0\.1:9464\/readyz/.test(c))).to.equal(true);
    expect(host.calls().filter((c) => c.endsWith('nginx -s reload'))).to.have.length(2);
    const stack = path.join(host.dir, 'stack');
    expect(readFileSync(path.join(stack, '.deploy/current-image'), 'utf8').trim()).to.equal('registry/app:new');
    expect(readFileSync(path.join(stack, '.deploy/previous-image'), 'utf8').trim()).to.equal('registry/app:old');
    expect(readFileSync(path.join(stack, '.env'), 'utf8')).to.match(/^APP_IMAGE=registry\/app:new$/m);
  });

  it('when the new image never becomes ready, then the restarted instance goes back to the previous image and the rest is untouched', function () {
    const { status, stderr } = host.deploy('registry/app:broken', { FAKE_BAD_IMAGE: 'registry/app:broken' });
    expect(status).to.equal(1);
    expect(stderr).to.match(/rolling api1 back to registry\/app:old/);
    expect(['api1', 'api2', 'worker'].map(host.image)).to.deep.equal(['registry/app:old', 'registry/app:old', 'registry/app:old']);
    expect(host.calls().filter((c) => / up .* api2$/.test(c)), 'api2 is never restarted').to.deep.equal([]);
    expect(existsSync(path.join(host.dir, 'stack', '.deploy/current-image'))).to.equal(false);
  });

  it('when the migration fails, then no instance is restarted', function () {
    const { status } = host.deploy('registry/app:new', { FAKE_MIGRATE_FAIL: '1' });
    expect(status).to.not.equal(0);
    expect(host.calls().filter((c) => / up /.test(c))).to.deep.equal([]);
    expect(host.image('api1')).to.equal('registry/app:old');
  });
});
