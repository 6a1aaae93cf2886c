import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ENV_ALIASES } from '../../../config/index.js';
import { SITE_TEMPLATE, templateVariables } from '../../../scripts/services/nginx.js';

/**
 * docker-compose.yml cannot be started here (no Docker engine), so its shape is checked instead:
 * the services a deployment needs (databases, Kafka, APIs, worker, nginx, Prometheus, Grafana), health-gated start order, no secret written into the file, and
 * agreement with .env.example, the nginx template, the Prometheus targets and Grafana's mounts.
 */
interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  restart?: string;
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  volumes?: string[];
  ports?: string[];
}

const raw = readFileSync('docker-compose.yml', 'utf8');
/** The file without its comment lines, for scanning ${VAR} references. */
const body = raw
  .split('\n')
  .filter((line) => !line.trim().startsWith('#'))
  .join('\n');
const compose = parse(raw, { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
const envExample = readFileSync('.env.example', 'utf8');

const SECRET_NAME = /PASSWORD|SECRET|_KEY$|TOKEN|REDISCLI_AUTH/;
/** `${VAR:?message}` (required) or `${VAR:-}` (optional, empty by default). */
const SECRET_REFERENCE = /^\$\{[A-Z0-9_]+(?::\?[^}]*|:-)\}$/;

function env(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(services[name]?.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

function isHealthy(name: string): boolean {
  const hc = services[name]?.healthcheck;
  return !!hc && !hc.disable && Array.isArray(hc.test) && hc.test.length > 1;
}

describe('docker-compose.yml (structure)', function () {
  it('when the stack is read, then it has the backing services, a migrate job, two APIs, a worker, nginx and monitoring', function () {
    expect(Object.keys(services)).to.include.members(['mariadb', 'mongo', 'redis', 'kafka', 'migrate', 'api1', 'api2', 'worker', 'nginx', 'prometheus', 'grafana']);
    expect(services.mariadb!.image).to.match(/^mariadb:11(\.|$)/);
    expect(services.mongo!.image, 'the real MongoDB image').to.match(/^mongo:7(\.|$)/);
    expect(services.redis!.image).to.match(/^redis:7(\.|-|$)/);
    expect(services.kafka!.image).to.match(/^apache\/kafka:3\.9(\.|$)/);
    expect(env('kafka').KAFKA_PROCESS_ROLES, 'KRaft, no ZooKeeper').to.equal('broker,controller');
    expect(raw).not.to.match(/zookeeper/i);
  });

  it('when the app services are read, then migrate, api1, api2 and worker run the same image with their own command', function () {
    const app = ['migrate', 'api1', 'api2', 'worker'].map((name) => services[name]!);
    expect(new Set(app.map((s) => s.image)).size).to.equal(1);
    expect(app.map((s) => s.command?.[0])).to.deep.equal(['migrate', 'api', 'api', 'worker']);
    expect(services.migrate!.restart, 'a one-shot job').to.equal('no');
    expect(env('api1').INSTANCE_ID).to.not.equal(env('api2').INSTANCE_ID);
  });

  it('when health is checked, then every long-running service has a healthcheck', function () {
    for (const name of Object.keys(services).filter((n) => n !== 'migrate')) expect(isHealthy(name), name).to.equal(true);
  });

  it('when the start order is read, then it waits on health and on migrate having succeeded', function () {
    for (const name of ['api1', 'api2', 'worker']) {
      const deps = services[name]!.depends_on ?? {};
      expect(deps.migrate?.condition, `${name} after migrate`).to.equal('service_completed_successfully');
      for (const backing of ['mariadb', 'mongo', 'redis', 'kafka']) expect(deps[backing]?.condition, `${name} on ${backing}`).to.equal('service_healthy');
    }
    expect(services.migrate!.depends_on?.mariadb?.condition).to.equal('service_healthy');
    expect(services.nginx!.depends_on?.api1?.condition).to.equal('service_healthy');
    expect(services.nginx!.depends_on?.api2?.condition).to.equal('service_healthy');
    expect(Object.keys(services.prometheus!.depends_on ?? {})).to.include.members(['api1', 'api2', 'worker']);
    expect(services.grafana!.depends_on?.prometheus?.condition).to.equal('service_healthy');
    // Every health condition must point at a service that has a healthcheck, or compose waits forever.
    for (const [name, service] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[dep], `${name} depends on unknown ${dep}`).to.not.equal(undefined);
        if (condition === 'service_healthy') expect(isHealthy(dep), `${name} waits for ${dep} to be healthy`).to.equal(true);
      }
    }
  });

  it('when the environment is read, then no secret is written in the file, only ${VAR} references', function () {
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        const v = String(value);
        if (SECRET_NAME.test(key)) expect(v, `${name}.${key}`).to.match(SECRET_REFERENCE);
        // Credentials inside URLs: user may be a default, the password must be a reference.
        const password = /^[a-z+]+:\/\/(?:\$\{[^}]*\}|[^:/@$]*):(\$\{[^}]*\}|[^@]*)@/.exec(v)?.[1];
        if (password !== undefined) expect(password, `${name}.${key} password`).to.match(SECRET_REFERENCE);
      }
    }
    const requiredSecrets = [...body.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]);
    expect(requiredSecrets).to.include.members(['MARIADB_PASSWORD', 'MARIADB_ROOT_PASSWORD', 'MONGO_PASSWORD', 'MONGO_ROOT_PASSWORD', 'REDIS_PASSWORD', 'JWT_SECRET', 'GRAFANA_ADMIN_PASSWORD']);
  });

  it('when .env.example is read, then it documents every variable compose and the app read, with secrets left empty', function () {
    const referenced = new Set([...body.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!));
    const assigned = new Map([...envExample.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    for (const name of referenced) expect(assigned.has(name), `${name} in .env.example`).to.equal(true);
    for (const [name, value] of assigned) if (SECRET_NAME.test(name)) expect(value, `${name} must be empty in the example`).to.equal('');
    for (const alias of [...Object.keys(ENV_ALIASES), 'APP_PROFILE', 'CONFIG_MASTER_PASSWORD']) {
      expect(envExample, `${alias} documented`).to.match(new RegExp(`^#? ?${alias}=`, 'm'));
    }
    expect(envExample).to.match(/APP__<SECTION>__<KEY>/);
  });

  it('when nginx is read, then its environment defines exactly the template variables and points at both APIs', function () {
    const nginxEnv = env('nginx');
    const template = readFileSync(SITE_TEMPLATE, 'utf8');
    const { NGINX_ENVSUBST_OUTPUT_DIR: outputDir, ...templateEnv } = nginxEnv;
    expect(Object.keys(templateEnv).sort()).to.deep.equal(templateVariables(template));
    expect(outputDir, 'nginx.conf includes sites/*.conf').to.equal('/etc/nginx/sites');
    expect([nginxEnv.NGINX_API1, nginxEnv.NGINX_API2]).to.deep.equal(['api1:3000', 'api2:3000']);
    expect(services.nginx!.volumes).to.include.members(['./ops/nginx/nginx.conf:/etc/nginx/nginx.conf:ro', './ops/nginx/templates:/etc/nginx/templates:ro']);
  });

  it('when Prometheus is read, then it scrapes every API and the worker on the ports they serve /metrics on', function () {
    const prometheus = parse(readFileSync('ops/prometheus/prometheus.yml', 'utf8'), { merge: true }) as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = (job: string) => prometheus.scrape_configs.find((c) => c.job_name === job)?.static_configs.flatMap((s) => s.targets) ?? [];
    expect(targets('api').sort()).to.deep.equal(['api1:3000', 'api2:3000']);
    expect(targets('worker')).to.deep.equal([`worker:${env('worker').METRICS_PORT}`]);
    expect(services.prometheus!.volumes).to.include('./ops/prometheus:/etc/prometheus:ro');
  });

  it('when Grafana is read, then the provisioned datasource and dashboard folder match the dashboard and the mounts', function () {
    const datasource = parse(readFileSync('ops/grafana/provisioning/datasources/prometheus.yml', 'utf8')) as { datasources: Array<{ uid: string; url: string }> };
    const provider = parse(readFileSync('ops/grafana/provisioning/dashboards/emotion-diary.yml', 'utf8')) as { providers: Array<{ options: { path: string } }> };
    const dashboard = JSON.parse(readFileSync('ops/grafana/dashboards/emotion-diary-overview.json', 'utf8')) as { uid: string; panels: Array<{ datasource?: { uid: string } }> };
    expect(datasource.datasources[0]!.url).to.equal('http://prometheus:9090');
    const uids = new Set(dashboard.panels.map((p) => p.datasource?.uid).filter(Boolean));
    expect([...uids]).to.deep.equal([datasource.datasources[0]!.uid]);
    const mounts = (services.grafana!.volumes ?? []).map((v) => v.split(':'));
    const dashboardsMount = mounts.find(([host]) => path.normalize(host!) === 'ops/grafana/dashboards');
    expect(dashboardsMount?.[1]).to.equal(provider.providers[0]!.options.path);
    expect(mounts.some(([host, target]) => path.normalize(host!) === 'ops/grafana/provisioning' && target === '/etc/grafana/provisioning')).to.equal(true);
    expect(env('grafana').GF_SECURITY_ADMIN_PASSWORD).to.match(SECRET_REFERENCE);
  });
});
