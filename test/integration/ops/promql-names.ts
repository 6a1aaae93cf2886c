import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan', 'atan2']);

/**
 * Metric names a PromQL expression selects. Not a parser, but enough for the expressions we write:
 * strings, label matchers, range/subquery brackets, grouping label lists and Grafana variables are
 * removed first; what remains and is not a function call, keyword or number is a metric name.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || KEYWORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names];
}

export interface NamedExpr {
  source: string;
  expr: string;
}

/** Every `expr` of the alerting and recording rules in a Prometheus rule file. */
export function ruleExpressions(file: string): NamedExpr[] {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }> };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ source: `${file}: ${r.alert ?? r.record}`, expr: r.expr })));
}

interface PanelLike {
  title?: string;
  panels?: PanelLike[];
  targets?: Array<{ expr?: string }>;
}

/** Every query of a Grafana dashboard: panel targets (rows included) and template variable queries. */
export function dashboardExpressions(file: string): NamedExpr[] {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as PanelLike & { templating?: { list?: Array<{ name: string; definition?: string }> } };
  const out: NamedExpr[] = [];
  const visit = (panel: PanelLike) => {
    for (const target of panel.targets ?? []) if (target.expr) out.push({ source: `${file}: ${panel.title}`, expr: target.expr });
    for (const child of panel.panels ?? []) visit(child);
  };
  visit(doc);
  for (const variable of doc.templating?.list ?? []) {
    // label_values(<selector>, label) names a metric inside its first argument.
    const selector = /label_values\((.*),\s*\w+\)\s*$/.exec(variable.definition ?? '')?.[1];
    if (selector) out.push({ source: `${file}: variable ${variable.name}`, expr: selector });
  }
  return out;
}

/** Names a scrape exports, from its `# TYPE` lines, with the series suffixes each type implies. */
export function exportedSeriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}
