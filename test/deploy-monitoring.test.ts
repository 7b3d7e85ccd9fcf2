/**
 * The operations views use only what the server really exports: a LiteMaaS server (real
 * PostgreSQL, REDIS_URL on a redis-server of the test's own, so the Redis gauge is registered,
 * LITEMAAS_METRICS_PORT as the manifests set it) serves one metered request; refuses requests for
 * each reason the alerts and the dashboard read (invalid key, model not allowed, rate limit, max
 * parallel, budget, quota, and — Redis stopped — budgets unavailable); and opens the circuit of a
 * deployment that refuses connections. Its /metrics, on the metrics port only, counts each refusal
 * once under its reason (upstream failures are not refusals) and shows the breaker open for that
 * deployment alone; then every metric family, label and reason value that the PrometheusRule's
 * expressions and the Grafana dashboard's queries name is looked up in it. Also: the rule groups
 * cover what the issue asks for, and the ServiceMonitor scrapes the Service's `metrics` port, which
 * neither the Route nor the Ingress publishes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { MODEL, provision, startSystem, type System } from './helpers/system.js';
import { OwnRedis } from './helpers/redis-instance.js';
import { freePort } from './helpers/net.js';
import { REFUSAL_REASON_VALUES } from '../src/gateway/metrics.js';
import { loadConfig } from '../src/config.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const DIR = 'deploy/kustomize/components/monitoring';
const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJSON()).filter(Boolean) as any[];
const rule = docs(readFileSync(`${DIR}/prometheusrule.yaml`, 'utf8'))[0];
const dashboard = JSON.parse(readFileSync(`${DIR}/litemaas-dashboard.json`, 'utf8'));
const alerts: any[] = rule.spec.groups.flatMap((g: any) => g.rules);
const dashboardExprs: string[] = dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
const exprs = [...alerts.map((a) => a.expr as string), ...dashboardExprs];

/** Labels Prometheus adds at scrape time (target labels) or that histograms carry; not the server's to export. */
const TARGET_LABELS = new Set(['namespace', 'pod', 'job', 'instance', 'service', 'container', 'endpoint', 'le']);
/** Series Prometheus makes itself. */
const PROMETHEUS_OWN = new Set(['up']);

function metricNames(expr: string): string[] {
  const functions = /\b(sum|max|min|avg|count|rate|increase|histogram_quantile|clamp_min|by|offset|label_values)\b/;
  return [...expr.replace(/"[^"]*"/g, '""').matchAll(/\b([a-z_][a-z0-9_]*)\s*(?=\{|\[|\)|\s*[<>=!]|$)/g)]
    .map((m) => m[1]!).filter((n) => n.includes('_') || PROMETHEUS_OWN.has(n)).filter((n) => !functions.test(n));
}

function labelNames(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/\bby \(([^)]*)\)/g)) names.push(...m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
  for (const m of text.matchAll(/\{([^{}]*)\}/g)) names.push(...[...m[1]!.matchAll(/([a-z_]+)\s*(?:=~|!=|=)/g)].map((x) => x[1]!));
  for (const m of text.matchAll(/\{\{\s*\$labels\.([a-z_]+)\s*\}\}|\{\{([a-z_]+)\}\}/g)) names.push((m[1] ?? m[2])!);
  return names;
}

/** The values a selector asks of a label: `reason="budget"` → budget; `reason=~"budget|quota"` → budget, quota. */
function labelValues(expr: string, label: string): string[] {
  return [...expr.matchAll(new RegExp(`\\b${label}\\s*(=~|=)\\s*"([^"]*)"`, 'g'))].flatMap((m) => (m[1] === '=~' ? m[2]!.split('|') : [m[2]!]));
}

/** The value of one series in a scrape: `name{a="x",b="y"} 3` → 3 (labels in any order); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const got = Object.fromEntries([...m[1]!.matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[2]);
  }
  return undefined;
}

describe('monitoring: the rules and the dashboard against the server\'s /metrics', () => {
  let sys: System;
  let redis: OwnRedis;
  let hold: Server;
  let metrics = '';
  let onMainPort: Response;
  let otherPathOnMetricsPort: Response;

  beforeAll(async () => {
    redis = await OwnRedis.create();
    sys = await startSystem('postgres', {}, { redisUrl: redis.url, metricsPort: 0 });
    const chat = (key: string, model = MODEL) => fetch(`${sys.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 8, messages: [{ role: 'user', content: 'Count me.' }] }),
    });
    const key = async (userId: string, fields: Record<string, unknown>) => {
      const r = await sys.admin('POST', `/admin/users/${userId}/api-keys`, { name: 'k', models: [MODEL], ...fields });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body.key as string;
    };
    const model = async (id: string, url: string) => {
      expect((await sys.admin('POST', '/admin/models', { id, inputPricePer1M: 0, outputPricePer1M: 0, deployments: [{ url, upstreamModel: 'x' }] })).status).toBe(201);
    };
    const k = await provision(sys, { key: { rpm: 1000 } }); // a limit: admission goes through Redis
    expect((await chat(k.key)).status).toBe(200);

    // One refusal for each reason the rules and the dashboard read.
    expect((await chat(`sk-${'x'.repeat(43)}`)).status).toBe(401); // invalid_key
    const dead = await freePort();
    await model('broken-model', `http://127.0.0.1:${dead}/v1`);
    await sys.admin('POST', `/admin/users/${k.userId}/subscriptions`, { modelId: 'broken-model' });
    expect((await chat(k.key, 'broken-model')).status).toBe(403); // model_not_allowed: not among the key's models
    const rpm1 = await key(k.userId, { rpm: 1 });
    expect((await chat(rpm1)).status).toBe(200);
    expect((await chat(rpm1)).status).toBe(429); // rate_limit
    expect((await chat(await key(k.userId, { maxBudget: 0 }))).status).toBe(429); // budget
    const q = await provision(sys, { subscription: { quotaRequests: 0 } });
    expect((await chat(q.key)).status).toBe(429); // quota
    // max_parallel: a model server that holds the first request until the second has been refused.
    let release: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      hold = createServer((req, res) => {
        req.resume();
        resolve();
        release = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          id: 'c1', object: 'chat.completion', created: 1, model: 'x',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        }));
      });
    });
    await new Promise<void>((r) => hold.listen(0, '127.0.0.1', () => r()));
    await model('slow-model', `http://127.0.0.1:${(hold.address() as { port: number }).port}/v1`);
    await sys.admin('POST', `/admin/users/${k.userId}/subscriptions`, { modelId: 'slow-model' });
    const one = await key(k.userId, { models: ['slow-model'], maxParallel: 1 });
    const first = chat(one, 'slow-model');
    await arrived;
    expect((await chat(one, 'slow-model')).status).toBe(429); // max_parallel
    release();
    expect((await first).status).toBe(200);

    // A deployment that refuses connections: 5 consecutive faults open its circuit; then no deployment is available.
    // Upstream failures (502, 503) are not refusals.
    const k2 = await key(k.userId, { models: ['broken-model'] });
    for (let i = 0; i < 5; i++) expect((await chat(k2, 'broken-model')).status).toBe(502);
    expect((await chat(k2, 'broken-model')).status).toBe(503);

    // Redis gone: the next limited request is decided without it (closed mode: 503 budgets_unavailable), counted by mode.
    await redis.stop();
    expect((await chat(k.key)).status).toBe(503);

    expect(sys.server.metricsUrl).not.toBe(`${sys.url}/metrics`);
    metrics = await (await fetch(sys.server.metricsUrl)).text();
    onMainPort = await fetch(`${sys.url}/metrics`);
    otherPathOnMetricsPort = await fetch(sys.server.metricsUrl.replace(/\/metrics$/, '/v1/models'));
  }, 60_000);

  afterAll(async () => {
    await sys?.close();
    await redis?.stop();
    hold?.close();
  });

  it('serves /metrics on LITEMAAS_METRICS_PORT only: not on the main port (the one the Route publishes), nothing else there', async () => {
    expect(metrics).toContain('# TYPE litemaas_requests_total counter');
    expect(onMainPort.status).toBe(404);
    expect(await onMainPort.text()).not.toContain('litemaas_');
    expect(otherPathOnMetricsPort.status).toBe(404);
  });

  it('counts each refusal once under its reason, and no upstream failure as a refusal', () => {
    const expected: Record<string, number> = { invalid_key: 1, model_not_allowed: 1, rate_limit: 1, max_parallel: 1, budget: 1, quota: 1, budgets_unavailable: 1 };
    const got = Object.fromEntries(REFUSAL_REASON_VALUES.map((r) => [r, sample(metrics, 'litemaas_refusals_total', { reason: r })]));
    // Every reason is exported from the start (at 0), so the first refusal of each shows in increase().
    expect(got).toEqual(Object.fromEntries(REFUSAL_REASON_VALUES.map((r) => [r, expected[r] ?? 0])));
    // The 502s and the 503 of the broken model were counted as answers and upstream errors, not refusals.
    expect(sample(metrics, 'litemaas_requests_total', { model: 'broken-model', status: '502' })).toBe(5);
    expect(sample(metrics, 'litemaas_requests_total', { model: 'broken-model', status: '503' })).toBe(1);
  });

  it('shows the circuit of the failing deployment open, and the others closed', () => {
    const series = [...metrics.matchAll(/^litemaas_breaker_open\{([^}]*)\} (\S+)$/gm)].map((m) => ({
      labels: Object.fromEntries([...m[1]!.matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!])), value: Number(m[2]),
    }));
    expect(series.map((x) => [x.labels.model, x.value]).sort()).toEqual([['broken-model', 1], [MODEL, 0], ['slow-model', 0]].sort());
    // The same deployment label as its upstream errors (5 connection failures).
    const broken = series.find((x) => x.labels.model === 'broken-model')!.labels.deployment!;
    expect(sample(metrics, 'litemaas_upstream_errors_total', { deployment: broken })).toBe(5);
  });

  it('covers the alerts the issue asks for', () => {
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining([
      'LiteMaaSLedgerBacklog', 'LiteMaaSLedgerDeadLetters', 'LiteMaaSUpstreamErrorRate', 'LiteMaaSBreakerOpen', 'LiteMaaSBudgetRefusalsSpike',
    ]));
    // The breaker and budget alerts read the breaker gauge and the refusal reasons, not statuses.
    const expr = (name: string) => alerts.find((a) => a.alert === name).expr as string;
    expect(metricNames(expr('LiteMaaSBreakerOpen'))).toEqual(['litemaas_breaker_open']);
    expect(new Set(metricNames(expr('LiteMaaSBudgetRefusalsSpike')))).toEqual(new Set(['litemaas_refusals_total']));
    expect(labelValues(expr('LiteMaaSBudgetRefusalsSpike'), 'reason')).toContain('budget');
    for (const a of alerts) {
      expect(a.labels.severity, a.alert).toMatch(/^(info|warning|critical)$/);
      expect(a.annotations.summary, a.alert).toBeTruthy();
    }
  });

  it('names only metric families the server exports', () => {
    const families = new Set([...metrics.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]!));
    const histograms = new Set([...metrics.matchAll(/^# TYPE (\S+) histogram$/gm)].map((m) => m[1]!));
    const used = new Set(exprs.flatMap(metricNames));
    expect(used.size).toBeGreaterThan(8);
    for (const name of used) {
      if (PROMETHEUS_OWN.has(name)) continue;
      const family = name.replace(/_(bucket|sum|count)$/, '');
      const known = families.has(name) || (histograms.has(family) && family !== name);
      expect(known, `${name} is not in /metrics`).toBe(true);
    }
    // The ones the alerts hinge on are among them.
    for (const name of ['litemaas_ledger_unwritten_events', 'litemaas_ledger_dead_letters_total', 'litemaas_upstream_errors_total', 'litemaas_requests_total', 'litemaas_admission_redis_up', 'litemaas_breaker_open', 'litemaas_refusals_total']) {
      expect(used.has(name), name).toBe(true);
    }
  });

  it('uses only labels the server\'s series carry (or Prometheus adds)', () => {
    const exported = new Set<string>();
    for (const m of metrics.matchAll(/^[a-z_:][a-z0-9_:]*\{([^}]*)\}/gm)) for (const l of m[1]!.matchAll(/([a-z_]+)="/g)) exported.add(l[1]!);
    expect(exported).toContain('deployment');
    const texts = [...exprs, ...alerts.map((a) => `${a.annotations.summary} ${a.annotations.description ?? ''}`),
      ...dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.legendFormat ?? ''))];
    for (const name of new Set(texts.flatMap(labelNames))) {
      expect(exported.has(name) || TARGET_LABELS.has(name), `label ${name}`).toBe(true);
    }
    // And only refusal reasons the server has (a misspelt reason would match nothing, silently).
    const reasons = exprs.flatMap((e) => labelValues(e, 'reason'));
    expect(reasons.length).toBeGreaterThan(0);
    for (const r of reasons) expect(REFUSAL_REASON_VALUES, `reason ${r}`).toContain(r);
  });

  it('is a dashboard Grafana imports: unique panel ids, a Prometheus datasource variable, every panel queried', () => {
    expect(dashboard.uid).toBe('litemaas-overview');
    const ids = dashboard.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list.find((v: any) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const p of dashboard.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      expect(p.datasource.uid).toBe('${datasource}');
    }
  });

  it('is a dashboard whose panels are well formed (no schema package models Grafana dashboards: checked field by field)', () => {
    const PANEL = ['id', 'type', 'title', 'datasource', 'gridPos', 'fieldConfig', 'options', 'targets'];
    const TARGET = ['refId', 'expr', 'legendFormat', 'datasource'];
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(Object.keys(p).filter((k) => !PANEL.includes(k)), `panel ${p.id}: unknown fields`).toEqual([]);
      expect(Number.isInteger(p.id), p.title).toBe(true);
      expect(['stat', 'timeseries', 'gauge', 'table', 'bargauge'], p.title).toContain(p.type);
      expect(typeof p.title).toBe('string');
      const { x, y, w, h, ...rest } = p.gridPos;
      expect(rest, p.title).toEqual({});
      for (const v of [x, y, w, h]) expect(Number.isInteger(v) && v >= 0, `${p.title}: gridPos`).toBe(true);
      expect(x + w, `${p.title}: within Grafana's 24 columns`).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
        expect(cells.has(`${i},${j}`), `${p.title} overlaps another panel at ${i},${j}`).toBe(false);
        cells.add(`${i},${j}`);
      }
      const refIds = p.targets.map((t: any) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
      for (const t of p.targets) {
        expect(Object.keys(t).filter((k) => !TARGET.includes(k)), `panel ${p.id}: unknown target fields`).toEqual([]);
        expect(typeof t.expr === 'string' && t.expr.includes('namespace="$namespace"'), `${p.title}: ${t.expr}`).toBe(true);
      }
    }
  });

  it.skipIf(!hasKubectl)('is scraped: the ServiceMonitor scrapes the Service\'s metrics port (LITEMAAS_METRICS_PORT), which the Route does not publish', () => {
    const objs = docs(execFileSync('kubectl', ['kustomize', 'deploy/kustomize/overlays/prod'], { encoding: 'utf8' }));
    const sm = objs.find((o) => o.kind === 'ServiceMonitor');
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'litemaas');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k], k).toBe(v);
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    const port = svc.spec.ports.find((p: any) => p.name === 'metrics');
    const container = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'litemaas').spec.template.spec.containers[0];
    const containerPort = container.ports.find((p: any) => p.name === port.targetPort);
    const settings = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'litemaas-config').data;
    expect(String(containerPort.containerPort)).toBe(settings.LITEMAAS_METRICS_PORT);
    expect(settings.LITEMAAS_METRICS_PORT).not.toBe(settings.PORT);
    const route = objs.find((o) => o.kind === 'Route' && o.metadata.name === 'litemaas');
    expect(route.spec.port.targetPort).toBe('http');
    // Only the monitoring namespaces may reach the metrics port.
    const np = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'litemaas');
    const toMetrics = np.spec.ingress.filter((r: any) => r.ports.some((p: any) => p.port === 'metrics'));
    expect(toMetrics.flatMap((r: any) => r.from.map((f: any) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] ?? 'other')).sort())
      .toEqual(['monitoring', 'openshift-user-workload-monitoring']);
    for (const r of np.spec.ingress.filter((x: any) => !toMetrics.includes(x))) expect(r.ports.map((p: any) => p.port)).toEqual(['http']);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'litemaas-grafana-dashboard');
    expect(JSON.parse(cm.data['litemaas-dashboard.json']).uid).toBe('litemaas-overview');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
  });
});

describe('LITEMAAS_METRICS_PORT', () => {
  it('is unset by default (/metrics on the main port, as npm start serves it), a port when set, refused when not a port', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ LITEMAAS_METRICS_PORT: '' }).metricsPort).toBeUndefined();
    expect(loadConfig({ LITEMAAS_METRICS_PORT: '9090' }).metricsPort).toBe(9090);
    expect(() => loadConfig({ LITEMAAS_METRICS_PORT: 'metrics' })).toThrow('LITEMAAS_METRICS_PORT must be a port number (0-65535), got "metrics"');
    expect(() => loadConfig({ LITEMAAS_METRICS_PORT: '70000' })).toThrow(/port number/);
  });
});
