import { expect } from 'chai';
import path from 'node:path';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { dashboardExpressions, exportedSeriesNames, metricNames, ruleExpressions, type NamedExpr } from './promql-names.js';

/** Series Prometheus makes itself for every target. */
const PROMETHEUS_SERIES = new Set(['up']);

const DASHBOARD = path.resolve('ops/grafana/dashboards/emotion-diary-overview.json');
const ALERTS = path.resolve('ops/prometheus/alerts.yml');

function unknownNames(exprs: NamedExpr[], exported: Set<string>): string[] {
  return exprs.flatMap(({ source, expr }) =>
    metricNames(expr)
      .filter((name) => !exported.has(name) && !PROMETHEUS_SERIES.has(name))
      .map((name) => `${source}: ${name}`),
  );
}

describe('metrics contract: dashboards and alerts name only exported metrics', function () {
  this.timeout(30_000);
  let app: TestApp;
  let exported: Set<string>;

  before(async function () {
    app = await startTestApp('metricsct');
    const res = await fetch(`${app.url()}/metrics`);
    expect(res.status).to.equal(200);
    exported = exportedSeriesNames(await res.text());
  });

  after(async function () {
    await app?.destroy();
  });

  it('when PromQL is read, then only metric names are taken (not functions, labels, keywords or variables)', function () {
    expect(metricNames('sum by (job, le) (rate(http_request_duration_seconds_bucket{status_code=~"5..",instance=~"$instance"}[$__rate_interval])) > 0.05 and on(job) up == 1').sort()).to.deep.equal([
      'http_request_duration_seconds_bucket',
      'up',
    ]);
    expect(metricNames('histogram_quantile(0.99, sum without (instance) (rate(a_seconds_bucket[5m] offset 1h))) > 1e3')).to.deep.equal(['a_seconds_bucket']);
    expect(metricNames('max(outbox_backlog_events) > 0.25 * sum(max_over_time(socketio_connected_sockets[15m]))').sort()).to.deep.equal([
      'outbox_backlog_events',
      'socketio_connected_sockets',
    ]);
  });

  it('when the app is scraped, then every metric in its registry appears on /metrics, observed or not', async function () {
    const registered = (await app.metrics.registry.getMetricsAsJSON()).map((m) => m.name);
    expect(registered.length).to.be.greaterThan(20);
    expect(registered.filter((name) => !exported.has(name))).to.deep.equal([]);
    // Histograms are usable through their series suffixes even before the first observation.
    expect(exported.has('http_request_duration_seconds_bucket')).to.equal(true);
    expect(exported.has('worker_analysis_duration_seconds_count')).to.equal(true);
  });

  it('when an expression names a metric the app does not export, then the check reports it', function () {
    expect(unknownNames([{ source: 'example', expr: 'rate(diary_made_up_total[5m])' }], exported)).to.deep.equal(['example: diary_made_up_total']);
  });

  it('when the alert rules are read, then every metric they name is exported', function () {
    const exprs = ruleExpressions(ALERTS);
    expect(exprs.length).to.be.greaterThan(5);
    expect(unknownNames(exprs, exported)).to.deep.equal([]);
  });

  it('when the Grafana dashboard is read, then every metric its panels and variables name is exported', function () {
    const exprs = dashboardExpressions(DASHBOARD);
    expect(exprs.length).to.be.greaterThan(20);
    expect(unknownNames(exprs, exported)).to.deep.equal([]);
  });
});
