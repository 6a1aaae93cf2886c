import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Registry } from 'prom-client';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadConfig, type AppConfig } from '../../../config/index.js';
import { createMetrics } from '../../../kernel/metrics.js';
import { createMetricsServer } from '../../../kernel/metrics-server.js';
import { kubernetesTools, type KubernetesTools } from '../../../scripts/k8s/tools.js';
import { schemaFileName } from '../../../scripts/k8s/openapi-to-json-schema.js';
import { healthRoutes } from '../../../src/health/health-routes.js';
import { WORKER_GROUP } from '../../../workers/worker-app.js';
import { metricNames } from './promql-names.js';

const run = promisify(execFile);
const K8S_DIR = path.resolve('ops/k8s');
const OVERLAYS = ['one-machine', 'ten-machines', 'hundred-machines'];
/** The example master password of ops/k8s/base/secrets.enc.env (its header says so). */
const EXAMPLE_MASTER_PASSWORD = 'example-master-password-replace-me';
/** What `stop()` adds to http.shutdownGraceMs before it gives up (src/app.ts, workers/worker-app.ts), and the margin for closing the pools after it. */
const STOP_DEADLINE_EXTRA_SEC = 10;
const POOL_CLOSE_MARGIN_SEC = 5;

// The parts of the Kubernetes objects the checks read.
interface Probe {
  httpGet?: { path: string; port: string | number };
  timeoutSeconds?: number;
}
interface Container {
  name: string;
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } }>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    selector?: { matchLabels?: Record<string, string> } | Record<string, string>;
    template?: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
    scaleTargetRef?: { kind: string; name: string };
    minReplicas?: number;
    maxReplicas?: number;
    metrics?: Array<{
      type: string;
      pods?: { metric: { name: string }; target: Record<string, unknown> };
      external?: { metric: { name: string; selector?: { matchLabels?: Record<string, string> } }; target: Record<string, unknown> };
    }>;
    ports?: Array<{ name: string; targetPort: string | number }>;
  };
}

interface Rendered {
  overlay: string;
  yaml: string;
  file: string;
  resources: Resource[];
}

async function tool(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? e.message}` };
  }
}

function kubeconformArgs(tools: KubernetesTools, file: string): string[] {
  // -strict: unknown fields are errors; a kind without a schema is an error too (no -ignore-missing-schemas).
  return ['-strict', '-summary', '-output', 'text', '-kubernetes-version', tools.schemaVersion.replace(/^v/, ''), '-schema-location', tools.schemaLocation, file];
}

function find(resources: Resource[], kind: string, namePrefix: string): Resource {
  const found = resources.filter((r) => r.kind === kind && r.metadata.name.startsWith(namePrefix));
  expect(found, `${kind} ${namePrefix}`).to.have.length(1);
  return found[0]!;
}

function podSpec(resource: Resource): PodSpec {
  const spec = resource.spec?.template?.spec;
  if (!spec) throw new Error(`${resource.kind} ${resource.metadata.name} has no pod template`);
  return spec;
}

/** The environment Kubernetes gives a container: envFrom ConfigMaps in order (later wins), then env. */
function containerEnv(resources: Resource[], container: Container, podName: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) throw new Error(`${container.name}: only ConfigMaps are expected in envFrom`);
    const map = resources.find((r) => r.kind === 'ConfigMap' && r.metadata.name === source.configMapRef!.name);
    if (!map) throw new Error(`${container.name}: ConfigMap ${source.configMapRef.name} is not rendered`);
    Object.assign(env, map.data);
  }
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) env[entry.name] = entry.value;
    else if (entry.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[entry.name] = podName;
    else if (entry.valueFrom?.secretKeyRef) {
      // Created out of band (never in git); the example ENC values open with the example password.
      expect(entry.valueFrom.secretKeyRef, entry.name).to.deep.equal({ name: 'emotion-diary-master-password', key: 'CONFIG_MASTER_PASSWORD' });
      env[entry.name] = EXAMPLE_MASTER_PASSWORD;
    } else throw new Error(`${container.name}: env ${entry.name} has a source the test does not model`);
  }
  return env;
}

function preStopSleepSec(container: Container): number {
  const command = container.lifecycle?.preStop?.exec?.command;
  if (!command) return 0;
  expect(command[0], 'preStop is a sleep').to.equal('sleep');
  return Number(command[1]);
}

function selectorLabels(resource: Resource): Record<string, string> {
  const selector = resource.spec?.selector as { matchLabels?: Record<string, string> } | undefined;
  return selector?.matchLabels ?? (resource.spec?.selector as Record<string, string>);
}

describe('Kubernetes manifests (ops/k8s: kustomize, kubeconform against the API server\'s own schemas)', function () {
  this.timeout(120_000);
  let tools: KubernetesTools;
  let work: string;
  const rendered: Rendered[] = [];
  let registeredMetrics: Set<string>;

  before(async function () {
    tools = kubernetesTools();
    work = mkdtempSync(path.join(tmpdir(), 'k8s-manifests-'));
    for (const overlay of OVERLAYS) {
      const { code, out } = await tool(tools.kustomize, ['build', path.join(K8S_DIR, 'overlays', overlay)]);
      if (code !== 0) throw new Error(`kustomize build ${overlay}:\n${out}`);
      const file = path.join(work, `${overlay}.yaml`);
      writeFileSync(file, out);
      rendered.push({ overlay, yaml: out, file, resources: parseAllDocuments(out).map((d) => d.toJS() as Resource) });
    }
    const metrics = createMetrics(new Registry());
    registeredMetrics = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  });

  after(function () {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('when every overlay is rendered and kubeconform -strict checks it, then every resource is valid', async function () {
    for (const { overlay, file, resources } of rendered) {
      const { code, out } = await tool(tools.kubeconform, kubeconformArgs(tools, file));
      // The summary is the evidence: shown in the test output.
      console.log(`      ${overlay} (Kubernetes ${tools.schemaVersion} schemas): ${out.trim()}`);
      expect(code, out).to.equal(0);
      expect(out).to.match(new RegExp(`Summary: ${resources.length} resources found in 1 file - Valid: ${resources.length}, Invalid: 0, Errors: 0, Skipped: 0`));
    }
    const kinds = new Set(rendered[0]!.resources.map((r) => `${r.apiVersion} ${r.kind}`));
    for (const expected of ['apps/v1 Deployment', 'batch/v1 Job', 'policy/v1 PodDisruptionBudget', 'autoscaling/v2 HorizontalPodAutoscaler', 'v1 ConfigMap', 'v1 Service']) {
      expect([...kinds], expected).to.include(expected);
    }
  });

  it('when a manifest has a misspelt field, a wrong type, a removed API version or an unknown kind, then kubeconform rejects each', async function () {
    const resources = structuredClone(rendered[0]!.resources);
    const api = find(resources, 'Deployment', 'emotion-diary-api');
    const container = podSpec(api).containers[0] as unknown as Record<string, Record<string, Record<string, unknown>>>;
    container.livenessProbe!.httpGet = { paht: '/healthz', port: 'http' };
    (api.spec as Record<string, unknown>).replicas = 'two';
    const hpa = find(resources, 'HorizontalPodAutoscaler', 'emotion-diary-worker');
    hpa.apiVersion = 'autoscaling/v2beta1';
    resources.push({ apiVersion: 'v1', kind: 'ConfigMapp', metadata: { name: 'typo' } });
    const file = path.join(work, 'invalid.yaml');
    writeFileSync(file, resources.map((r) => stringify(r)).join('---\n'));
    const { code, out } = await tool(tools.kubeconform, kubeconformArgs(tools, file));
    console.log(`      invalid manifest: ${out.trim().split('\n').join('\n        ')}`);
    expect(code).to.equal(1);
    expect(out).to.match(/Deployment emotion-diary-api is invalid/);
    expect(out).to.match(/additional properties 'paht' not allowed/);
    expect(out).to.match(/\/spec\/replicas': got string, want integer/);
    expect(out).to.match(/HorizontalPodAutoscaler emotion-diary-worker failed validation: could not find schema/);
    expect(out).to.match(/ConfigMapp typo failed validation: could not find schema/);
    expect(out).to.match(/Invalid: 1, Errors: 2/);
  });

  it('when the schema files are named, then they follow kubeconform\'s layout (kind, first label of the group, version)', function () {
    expect(schemaFileName({ group: 'apps', version: 'v1', kind: 'Deployment' })).to.equal('deployment-apps-v1.json');
    expect(schemaFileName({ group: '', version: 'v1', kind: 'ConfigMap' })).to.equal('configmap-v1.json');
    expect(schemaFileName({ group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' })).to.equal('ingress-networking-v1.json');
  });

  it('when each container\'s rendered environment is loaded with the master password, then it is a valid production config', function () {
    for (const { overlay, resources } of rendered) {
      for (const name of ['emotion-diary-api', 'emotion-diary-worker', 'emotion-diary-migrate']) {
        const workload = find(resources, name.endsWith('migrate') ? 'Job' : 'Deployment', name);
        const container = podSpec(workload).containers[0]!;
        const env = containerEnv(resources, container, `${name}-7d9f-abcde`);
        let config: AppConfig;
        try {
          config = loadConfig(env);
        } catch (err) {
          throw new Error(`${overlay} ${name}: ${(err as Error).message}`, { cause: err });
        }
        expect(config.profile, `${overlay} ${name}`).to.equal('production');
        expect(config.http.host).to.equal('0.0.0.0');
        expect(config.app.instanceId).to.equal(name.endsWith('migrate') ? 'migrate' : `${name}-7d9f-abcde`);
        // Topics are created with kafka.replicationFactor replicas: the overlay must list that many brokers.
        expect(config.kafka.brokers.length, `${overlay} ${name}: brokers for ${config.kafka.replicationFactor} replicas`).to.be.at.least(
          config.kafka.replicationFactor,
        );
      }
    }
  });

  it('when the ConfigMaps are read, then every secret is an ENC(...) value and nothing in plain config looks like one', function () {
    for (const { overlay, resources } of rendered) {
      const secrets = find(resources, 'ConfigMap', 'emotion-diary-secrets');
      expect(Object.keys(secrets.data ?? {})).to.include.members(['MARIADB_URL', 'MONGO_URL', 'REDIS_URL', 'JWT_SECRET']);
      for (const [key, value] of Object.entries(secrets.data ?? {})) expect(value, `${overlay} ${key}`).to.match(/^ENC\(v1\.[A-Za-z0-9_.-]+\)$/);
      const plain = find(resources, 'ConfigMap', 'emotion-diary-config');
      for (const [key, value] of Object.entries(plain.data ?? {})) {
        expect(key, `${overlay}: ${key} belongs in secrets.enc.env`).to.not.match(/PASSWORD|SECRET|API_KEY|ENCRYPTION_KEY|^(MARIADB|MONGO|REDIS)_URL$|REPLICA_URL/);
        expect(value, `${overlay}: ${key} has credentials in a URL`).to.not.match(/:\/\/[^/@\s]*:[^/@\s]+@/);
      }
      expect(resources.some((r) => r.kind === 'Secret'), 'no Secret is rendered: the master password is created out of band').to.equal(false);
    }
  });

  it('when the probes are read, then they use the paths and ports the api and the worker serve', async function () {
    const apiPaths = new Set(
      healthRoutes({ checks: [], readinessTimeoutMs: 1000, registry: new Registry(), isShuttingDown: () => false })
        .filter((r) => r.root)
        .map((r) => r.path),
    );
    // The worker's server: started here on a free port and asked for each path the probes use.
    const metricsServer = createMetricsServer({ registry: new Registry(), checks: [], readinessTimeoutMs: 1000 });
    await metricsServer.listen(0, '127.0.0.1');
    try {
      for (const { overlay, resources } of rendered) {
        const env = containerEnv(resources, podSpec(find(resources, 'Deployment', 'emotion-diary-api')).containers[0]!, 'p');
        const config = loadConfig(env);
        for (const [name, port, paths] of [
          ['emotion-diary-api', config.http.port, apiPaths],
          ['emotion-diary-worker', config.metrics.port, undefined],
        ] as const) {
          const deployment = find(resources, 'Deployment', name);
          const container = podSpec(deployment).containers[0]!;
          const portName = (container.ports ?? []).find((p) => p.containerPort === port)?.name;
          expect(portName, `${overlay} ${name} exposes port ${port}`).to.be.a('string');
          expect(deployment.spec?.template?.metadata.annotations?.['prometheus.io/port'], `${name} scrape port`).to.equal(String(port));
          const probes = { startup: container.startupProbe, liveness: container.livenessProbe, readiness: container.readinessProbe };
          for (const [kind, probe] of Object.entries(probes)) {
            expect(probe?.httpGet, `${overlay} ${name} ${kind}Probe`).to.be.an('object');
            expect(probe!.httpGet!.port, `${name} ${kind}Probe port`).to.equal(portName);
            const expectedPath = kind === 'readiness' ? '/readyz' : '/healthz';
            expect(probe!.httpGet!.path, `${name} ${kind}Probe path`).to.equal(expectedPath);
            if (paths) expect([...paths], `${name} serves ${expectedPath}`).to.include(expectedPath);
            else expect((await fetch(`${metricsServer.url()}${expectedPath}`)).status, `worker serves ${expectedPath}`).to.equal(200);
          }
          // /readyz bounds each check by http.readinessTimeoutMs; the probe must wait longer than that.
          expect(container.readinessProbe!.timeoutSeconds! * 1000, `${name} readiness timeout`).to.be.greaterThan(config.http.readinessTimeoutMs);
        }
      }
    } finally {
      await metricsServer.close();
    }
  });

  it('when a pod is stopped, then terminationGracePeriodSeconds is preStop + http.shutdownGraceMs + the stop deadline + the pool margin', function () {
    for (const { overlay, resources } of rendered) {
      for (const name of ['emotion-diary-api', 'emotion-diary-worker']) {
        const spec = podSpec(find(resources, 'Deployment', name));
        const container = spec.containers[0]!;
        const config = loadConfig(containerEnv(resources, container, 'p'));
        const preStop = preStopSleepSec(container);
        if (name === 'emotion-diary-api') expect(preStop, 'the api keeps serving while its endpoints are removed').to.be.greaterThan(0);
        const needed = preStop + Math.ceil(config.http.shutdownGraceMs / 1000) + STOP_DEADLINE_EXTRA_SEC + POOL_CLOSE_MARGIN_SEC;
        expect(spec.terminationGracePeriodSeconds, `${overlay} ${name}`).to.equal(needed);
      }
    }
  });

  it('when the autoscalers are read, then they scale the right Deployments on metrics the app exports, and workers never outnumber partitions', function () {
    for (const { overlay, resources } of rendered) {
      const config = loadConfig(containerEnv(resources, podSpec(find(resources, 'Deployment', 'emotion-diary-worker')).containers[0]!, 'p'));
      const apiHpa = find(resources, 'HorizontalPodAutoscaler', 'emotion-diary-api');
      const workerHpa = find(resources, 'HorizontalPodAutoscaler', 'emotion-diary-worker');
      for (const [hpa, target] of [
        [apiHpa, 'emotion-diary-api'],
        [workerHpa, 'emotion-diary-worker'],
      ] as const) {
        expect(hpa.spec?.scaleTargetRef, overlay).to.deep.include({ kind: 'Deployment', name: target });
        expect(hpa.spec!.minReplicas!, `${overlay} ${target} min <= max`).to.be.at.most(hpa.spec!.maxReplicas!);
      }
      const sockets = apiHpa.spec!.metrics!.find((m) => m.type === 'Pods')!;
      expect(sockets.pods!.metric.name).to.equal('socketio_connected_sockets');
      const lag = workerHpa.spec!.metrics!.find((m) => m.type === 'External')!;
      expect(lag.external!.metric.name).to.equal('kafka_consumer_lag_messages');
      expect(lag.external!.metric.selector?.matchLabels?.group, 'the worker group the app names').to.equal(`${config.kafka.topicPrefix}${WORKER_GROUP}`);
      for (const metric of [sockets.pods!.metric.name, lag.external!.metric.name]) expect([...registeredMetrics], metric).to.include(metric);
      expect(workerHpa.spec!.maxReplicas!, `${overlay}: workers beyond kafka.partitions (${config.kafka.partitions}) would idle`).to.be.at.most(config.kafka.partitions);
    }
  });

  it('when the prometheus-adapter rules are read, then they serve the metrics the autoscalers name from series the app exports', function () {
    const rules = parse(readFileSync(path.join(K8S_DIR, 'prometheus/adapter-rules.yaml'), 'utf8')) as {
      rules: Record<'custom' | 'external', Array<{ seriesQuery: string; metricsQuery: string; name: { as: string }; resources: { overrides: Record<string, { resource: string }> } }>>;
    };
    const served = [...rules.rules.custom, ...rules.rules.external];
    expect(rules.rules.custom.map((r) => r.name.as)).to.deep.equal(['socketio_connected_sockets']);
    expect(rules.rules.external.map((r) => r.name.as)).to.deep.equal(['kafka_consumer_lag_messages']);
    for (const rule of served) {
      for (const name of metricNames(rule.seriesQuery)) expect([...registeredMetrics], name).to.include(name);
      // The labels the scrape config writes (ops/k8s/prometheus/prometheus.yml) are the ones mapped to resources.
      expect(Object.keys(rule.resources.overrides)).to.include('k8s_namespace');
    }
    const scrape = parse(readFileSync(path.join(K8S_DIR, 'prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ honor_labels?: boolean; relabel_configs: Array<{ source_labels?: string[]; target_label?: string }> }>;
    };
    const relabels = scrape.scrape_configs[0]!.relabel_configs;
    const target = (label: string) => relabels.find((r) => r.target_label === label)?.source_labels;
    expect(target('k8s_namespace')).to.deep.equal(['__meta_kubernetes_namespace']);
    expect(target('k8s_pod')).to.deep.equal(['__meta_kubernetes_pod_name']);
    // job="api" / "worker" as in ops/prometheus/prometheus.yml, so ops/prometheus/alerts.yml applies unchanged.
    expect(target('job')).to.deep.equal(['__meta_kubernetes_pod_label_app_kubernetes_io_component']);
    expect(scrape.scrape_configs[0]!.honor_labels).to.equal(true);
  });

  it('when the workloads are read, then selectors match their pods, they run CLI commands main.ts has, as the image\'s non-root user on a read-only root', function () {
    const main = readFileSync('src/main.ts', 'utf8');
    expect(readFileSync('Dockerfile', 'utf8')).to.match(/^USER node$/m);
    for (const { overlay, resources } of rendered) {
      const workloads = resources.filter((r) => r.kind === 'Deployment' || r.kind === 'Job');
      for (const workload of workloads) {
        const where = `${overlay} ${workload.metadata.name}`;
        const spec = podSpec(workload);
        const podLabels = workload.spec!.template!.metadata.labels;
        if (workload.kind === 'Deployment') expect(podLabels, where).to.deep.include(selectorLabels(workload));
        const [command] = spec.containers[0]!.args ?? [];
        expect(main, `${where}: ${command}`).to.include(`case '${command}':`);
        expect(spec.securityContext, where).to.deep.include({ runAsNonRoot: true, runAsUser: 1000 });
        expect(spec.containers[0]!.securityContext, where).to.deep.include({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
        expect(spec.containers[0]!.resources?.requests, `${where} requests`).to.have.keys('cpu', 'memory');
        expect(spec.containers[0]!.resources?.limits, `${where} limits`).to.include.keys('memory');
      }
      for (const selecting of resources.filter((r) => r.kind === 'PodDisruptionBudget' || r.kind === 'Service')) {
        const labels = selectorLabels(selecting);
        const pods = workloads.filter((w) => w.kind === 'Deployment' && Object.entries(labels).every(([k, v]) => w.spec!.template!.metadata.labels[k] === v));
        expect(pods.map((p) => p.metadata.name), `${overlay} ${selecting.kind} ${selecting.metadata.name}`).to.deep.equal([selecting.metadata.name]);
      }
      const service = find(resources, 'Service', 'emotion-diary-api');
      const apiPorts = podSpec(find(resources, 'Deployment', 'emotion-diary-api')).containers[0]!.ports!.map((p) => p.name);
      expect(apiPorts).to.include(service.spec!.ports![0]!.targetPort);
    }
  });
});
