import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);
const PROMETHEUS_DIR = path.resolve('ops/prometheus');

interface RuleFile {
  groups: Array<{ rules: Array<{ alert?: string; expr: string }> }>;
}
interface RuleTestFile {
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
}

function readYaml<T>(name: string): T {
  return parse(readFileSync(path.join(PROMETHEUS_DIR, name), 'utf8')) as T;
}

/** Runs promtool (Debian's prometheus package, installed by scripts/provision.sh); rejects with its output. */
async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: PROMETHEUS_DIR });
    return `${stdout}${stderr}`;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`, { cause: err });
  }
}

describe('Prometheus scrape config and alert rules (ops/prometheus, promtool)', function () {
  this.timeout(60_000);

  it('when promtool checks the scrape config, then it is valid and loads the rule file', async function () {
    const out = await promtool('check', 'config', 'prometheus.yml');
    expect(out).to.match(/SUCCESS: \d+ rule files found/);
    expect(out).to.match(/prometheus\.yml is valid prometheus config file syntax/);
  });

  it('when promtool checks the alert rules, then they parse', async function () {
    const out = await promtool('check', 'rules', 'alerts.yml');
    expect(out).to.match(/SUCCESS: \d+ rules found/);
  });

  it('when the rules are read, then the required alerts exist and each is unit-tested firing and silent', function () {
    const alerts = readYaml<RuleFile>('alerts.yml').groups.flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => !!a));
    // 5xx rate, p99 latency, outbox backlog, consumer lag, DLQ growth, instance down, disconnect storms.
    for (const required of ['ApiHigh5xxRate', 'ApiHighP99Latency', 'OutboxBacklogHigh', 'KafkaConsumerLagHigh', 'AnalysisDeadLettersGrowing', 'InstanceDown', 'SocketDisconnectStorm']) {
      expect(alerts, required).to.include(required);
    }
    const cases = readYaml<RuleTestFile>('alerts.test.yml').tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${alert} has a firing case`).to.equal(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${alert} has a silent case`).to.equal(true);
    }
  });

  it('when promtool runs the rule unit tests, then each alert fires on its unhealthy series and stays silent on healthy ones', async function () {
    const out = await promtool('test', 'rules', 'alerts.test.yml');
    expect(out).to.match(/SUCCESS/);
  });
});
