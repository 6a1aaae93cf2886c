import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { waitUntil } from '../../../kernel/wait.js';
import { freePort } from '../../../scripts/services/process.js';
import { environmentWithout } from '../../harness/processes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every process below `pid`, from /proc (children of children included). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

describe('npm start (the README command): a quiet start, and a stop by a signal to the npm process alone', function () {
  this.timeout(240_000);

  it('when it starts, then it logs no errors; when only the npm process gets SIGINT, then the API, the worker and every service it started stop', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'emotion-diary-start-'));
    const port = await freePort();
    // The services' URLs are left out: npm start must start them itself, as on a fresh machine.
    const env = environmentWithout(['MARIADB_URL', 'REDIS_URL', 'MONGO_URL', 'KAFKA_BROKERS', 'POSTGRES_URL'], {
      EMOTION_DIARY_DATA_DIR: dataDir,
      EMOTION_DIARY_FREE_PORTS: '1',
      PORT: String(port),
      METRICS_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    });
    let output = '';
    const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    try {
      await waitUntil('the API ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 180_000, 500).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${output.slice(-3000)}`);
      });
      // The README's URL opens the web app (npm start built it): / redirects to /app/.
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.url).to.equal(`http://127.0.0.1:${port}/app/`);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.include('<div id="root">');
      // A normal start logs nothing at error level (a broker warming up is not an error).
      await new Promise((r) => setTimeout(r, 3_000));
      const errors = output.split('\n').filter((line) => /"level":(50|60)/.test(line));
      expect(errors, 'error lines at start').to.deep.equal([]);
      const started = descendants(npm.pid!);
      // The API, the worker, MariaDB, Redis, Kafka, PostgreSQL and FerretDB, with their shells.
      expect(started.length).to.be.greaterThan(8);
      process.kill(npm.pid!, 'SIGINT');
      await waitUntil('npm to exit', async () => (await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 100))])) as boolean, 90_000);
      await waitUntil('every process npm start began to end', () => started.every((pid) => !alive(pid)), 60_000).catch((err: unknown) => {
        throw new Error(`${String(err)}: still running ${started.filter(alive).join(', ')}\n${output.slice(-3000)}`);
      });
    } finally {
      if (npm.exitCode === null) process.kill(-npm.pid!, 'SIGKILL');
      for (const pid of descendants(npm.pid!)) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
