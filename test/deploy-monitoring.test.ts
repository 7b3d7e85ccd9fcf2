/**
 * The operations views use only what the server really exports: a LiteMaaS server (real
 * PostgreSQL, REDIS_URL on a redis-server of the test's own, so the Redis gauge is registered) serves
 * one metered request, one failed upstream attempt and, with Redis stopped, one refusal decided
 * without Redis; then every metric family and label that the
 * PrometheusRule's expressions and the Grafana dashboard's queries name is looked up in its /metrics.
 * Also: the rule groups cover what the issue asks for, and the ServiceMonitor scrapes the Service's
 * port at /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { MODEL, provision, startSystem, type System } from './helpers/system.js';
import { OwnRedis } from './helpers/redis-instance.js';
import { freePort } from './helpers/net.js';

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
  const functions = /\b(sum|max|min|avg|rate|increase|histogram_quantile|clamp_min|by|offset|label_values)\b/;
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

describe('monitoring: the rules and the dashboard against the server\'s /metrics', () => {
  let sys: System;
  let redis: OwnRedis;
  let metrics = '';

  beforeAll(async () => {
    redis = await OwnRedis.create();
    sys = await startSystem('postgres', {}, { redisUrl: redis.url });
    const k = await provision(sys, { key: { rpm: 1000 } }); // a limit: admission goes through Redis
    const ok = await fetch(`${sys.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'Count me.' }] }),
    });
    expect(ok.status).toBe(200);
    // A model whose only deployment refuses connections: one failed upstream attempt, labelled by deployment.
    const dead = await freePort();
    const m = await sys.admin('POST', '/admin/models', { id: 'broken-model', inputPricePer1M: 0, outputPricePer1M: 0, deployments: [{ url: `http://127.0.0.1:${dead}/v1`, upstreamModel: 'x' }] });
    expect(m.status).toBe(201);
    await sys.admin('POST', `/admin/users/${k.userId}/subscriptions`, { modelId: 'broken-model' });
    const k2 = await sys.admin('POST', `/admin/users/${k.userId}/api-keys`, { name: 'broken', models: ['broken-model'] });
    const bad = await fetch(`${sys.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${k2.body.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'broken-model', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(bad.status).toBeGreaterThanOrEqual(500);
    // Redis gone: the next limited request is decided without it (closed mode: 503), counted by mode.
    await redis.stop();
    const refused = await fetch(`${sys.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(refused.status).toBe(503);
    metrics = await (await fetch(`${sys.url}/metrics`)).text();
  }, 60_000);

  afterAll(async () => {
    await sys?.close();
    await redis?.stop();
  });

  it('covers the alerts the issue asks for', () => {
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining([
      'LiteMaaSLedgerBacklog', 'LiteMaaSLedgerDeadLetters', 'LiteMaaSUpstreamErrorRate', 'LiteMaaSBreakerOpen', 'LiteMaaSBudgetRefusalsSpike',
    ]));
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
    for (const name of ['litemaas_ledger_unwritten_events', 'litemaas_ledger_dead_letters_total', 'litemaas_upstream_errors_total', 'litemaas_requests_total', 'litemaas_admission_redis_up']) {
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

  it.skipIf(!hasKubectl)('is scraped: the ServiceMonitor selects the gateway Service and scrapes its named port at /metrics', () => {
    const objs = docs(execFileSync('kubectl', ['kustomize', 'deploy/kustomize/overlays/prod'], { encoding: 'utf8' }));
    const sm = objs.find((o) => o.kind === 'ServiceMonitor');
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'litemaas');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k], k).toBe(v);
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
    expect(svc.spec.ports.map((p: any) => p.name)).toContain('http');
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'litemaas-grafana-dashboard');
    expect(JSON.parse(cm.data['litemaas-dashboard.json']).uid).toBe('litemaas-overview');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
  });
});
