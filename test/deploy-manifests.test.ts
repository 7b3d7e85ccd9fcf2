/**
 * Renders every overlay with `kubectl kustomize` (offline) and checks what a platform engineer
 * would before applying it: Pod Security "restricted" / OpenShift restricted-v2 on every pod and
 * container (non-root without a fixed UID, no privilege escalation, ALL capabilities dropped,
 * RuntimeDefault seccomp, read-only root), every secret by secretKeyRef, probes on the paths and
 * ports the server serves, resources, no `latest` tags, consistent labels and selectors, the
 * Route's edge TLS, replicas > 1 only with REDIS_URL, settings names the server reads, and the
 * stack's and Canopy's ConfigMaps accepted by their own config parsers. Every rendered object is
 * validated offline against its API schema (test/helpers/k8s-schema.ts: the `kubernetes-models`
 * packages for Kubernetes and the prometheus-operator CRDs, a precise schema for OpenShift's Route,
 * unknown fields refused as `kubectl apply --validate=strict` does; a kind with no schema fails).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { stackConfig } from '../src/stack/config.js';
import { canopyConfig } from '../src/canopy/config.js';
import { HAND_CHECKED, MODELS, schemaErrors } from './helpers/k8s-schema.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string>; [k: string]: any };

const OVERLAYS = { dev: 'litemaas-dev', test: 'litemaas-test', prod: 'litemaas' } as const;
type Overlay = keyof typeof OVERLAYS;
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
if (!hasKubectl) console.warn('deploy manifests test skipped: kubectl is not installed (kubectl kustomize renders the overlays)');

function render(path: string): Obj[] {
  const r = spawnSync('kubectl', ['kustomize', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${path}: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJSON() as Obj).filter(Boolean);
}

/** The apiVersion each kind must have (what the API servers of OpenShift 4.14+ / Kubernetes 1.27+ serve). */
const API: Record<string, string> = {
  Namespace: 'v1', ServiceAccount: 'v1', ConfigMap: 'v1', Service: 'v1',
  Deployment: 'apps/v1', StatefulSet: 'apps/v1', Job: 'batch/v1', PodDisruptionBudget: 'policy/v1',
  NetworkPolicy: 'networking.k8s.io/v1', Ingress: 'networking.k8s.io/v1', HorizontalPodAutoscaler: 'autoscaling/v2',
  Role: 'rbac.authorization.k8s.io/v1', RoleBinding: 'rbac.authorization.k8s.io/v1',
  Route: 'route.openshift.io/v1', ServiceMonitor: 'monitoring.coreos.com/v1', PrometheusRule: 'monitoring.coreos.com/v1',
};
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'Job']);
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|DATABASE_URL|REDIS_URL|API_KEY|CREDENTIAL/i;

const podSpec = (o: Obj) => o.spec.template.spec;
const containersOf = (o: Obj): any[] => [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers];
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Every setting name `litemaas serve` reads (src/config.ts). */
const SERVER_SETTINGS = new Set(
  [...readFileSync('src/config.ts', 'utf8').matchAll(/env\.([A-Z_]+)|int\('([A-Z_]+)'/g)].map((m) => m[1] ?? m[2]!),
);

describe.skipIf(!hasKubectl).each(Object.keys(OVERLAYS) as Overlay[])('overlay %s', (overlay) => {
  const objs = hasKubectl ? render(`deploy/kustomize/overlays/${overlay}`) : [];
  const ns = OVERLAYS[overlay];
  const of = (kind: string) => objs.filter((o) => o.kind === kind);
  const named = (kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);
  const workloads = objs.filter((o) => WORKLOADS.has(o.kind));
  const litemaas = () => named('Deployment', 'litemaas')!;

  it('renders known kinds with their API versions, in the overlay namespace, with consistent labels', () => {
    expect(objs.length).toBeGreaterThan(10);
    const keys = new Set<string>();
    for (const o of objs) {
      expect(API[o.kind], `${o.kind} ${o.metadata.name}: unexpected kind`).toBeDefined();
      expect(o.apiVersion, `${o.kind} ${o.metadata.name}`).toBe(API[o.kind]);
      expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      if (o.kind !== 'Namespace') expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(ns);
      expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind} ${o.metadata.name}`).toBe('litemaas');
      expect(o.metadata.labels?.['app.kubernetes.io/instance'], `${o.kind} ${o.metadata.name}`).toBe(`litemaas-${overlay}`);
      const key = `${o.kind}/${o.metadata.name}`;
      expect(keys.has(key), `duplicate ${key}`).toBe(false);
      keys.add(key);
    }
    // Nothing secret is rendered: Secrets come from outside (generated, external or sealed).
    expect(of('Secret')).toEqual([]);
  });

  it('validates every object against its API schema offline (kubernetes-models; the Route by its own schema)', () => {
    expect(objs.flatMap(schemaErrors)).toEqual([]);
    // Every kind is schema-checked: by a model, or (only the Route, which no installed package models) by hand.
    for (const o of objs) expect(MODELS[`${o.apiVersion}/${o.kind}`] ?? HAND_CHECKED[`${o.apiVersion}/${o.kind}`], `${o.kind}`).toBeDefined();
    expect(Object.keys(HAND_CHECKED)).toEqual(['route.openshift.io/v1/Route']);
  });

  it('runs every pod and container under Pod Security "restricted" without a fixed UID', () => {
    expect(workloads.length).toBeGreaterThan(0);
    for (const w of workloads) {
      const spec = podSpec(w);
      const where = `${w.kind} ${w.metadata.name}`;
      expect(spec.securityContext?.runAsNonRoot, where).toBe(true);
      expect(spec.securityContext?.seccompProfile?.type, where).toBe('RuntimeDefault');
      for (const f of ['runAsUser', 'runAsGroup', 'fsGroup']) expect(spec.securityContext?.[f], `${where}: ${f}`).toBeUndefined();
      for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) expect(spec[f], `${where}: ${f}`).toBeFalsy();
      for (const v of spec.volumes ?? []) expect(v.hostPath, `${where}: hostPath volume ${v.name}`).toBeUndefined();
      for (const c of containersOf(w)) {
        const at = `${where} container ${c.name}`;
        const sc = c.securityContext ?? {};
        expect(sc.runAsNonRoot, at).toBe(true);
        expect(sc.allowPrivilegeEscalation, at).toBe(false);
        expect(sc.privileged ?? false, at).toBe(false);
        expect(sc.readOnlyRootFilesystem, at).toBe(true);
        expect(sc.capabilities?.drop, at).toContain('ALL');
        expect(sc.capabilities?.add ?? [], at).toEqual([]);
        expect(sc.seccompProfile?.type, at).toBe('RuntimeDefault');
        expect(sc.runAsUser, `${at}: runAsUser`).toBeUndefined();
        expect(sc.runAsGroup, `${at}: runAsGroup`).toBeUndefined();
        for (const p of c.ports ?? []) expect(p.hostPort, `${at}: hostPort`).toBeUndefined();
      }
    }
  });

  it('sets resources and pins every image to a tag other than latest', () => {
    for (const w of workloads) {
      for (const c of containersOf(w)) {
        const at = `${w.kind} ${w.metadata.name} container ${c.name}`;
        expect(c.resources?.requests?.cpu, at).toBeDefined();
        expect(c.resources?.requests?.memory, at).toBeDefined();
        expect(c.resources?.limits?.memory, at).toBeDefined();
        const tag = /^(?<repo>[^@]+?)(?::(?<tag>[\w][\w.-]*))?(?:@sha256:[0-9a-f]{64})?$/.exec(c.image)?.groups;
        expect(tag?.repo, `${at}: ${c.image}`).toContain('/');
        expect(tag?.tag ?? (c.image.includes('@sha256:') ? 'digest' : undefined), `${at}: ${c.image} has no tag`).toBeDefined();
        expect(tag?.tag, `${at}: ${c.image}`).not.toBe('latest');
      }
    }
  });

  it('takes every secret from a Secret by reference, never as a literal or from a ConfigMap', () => {
    for (const w of workloads) {
      for (const c of containersOf(w)) {
        for (const e of c.env ?? []) {
          if (SECRET_NAME.test(e.name)) {
            expect(e.valueFrom?.secretKeyRef, `${w.metadata.name}/${c.name}: ${e.name} must come from a Secret`).toBeDefined();
            expect(e.value, `${w.metadata.name}/${c.name}: ${e.name}`).toBeUndefined();
          }
        }
        for (const a of [...(c.args ?? []), ...(c.command ?? [])]) {
          // A secret on the command line must be an env reference ($(VAR)) to a secretKeyRef variable.
          const ref = /\$\((\w+)\)/.exec(a)?.[1];
          if (ref) expect((c.env ?? []).find((e: any) => e.name === ref)?.valueFrom?.secretKeyRef, `${w.metadata.name}: $(${ref})`).toBeDefined();
        }
      }
    }
    for (const cm of of('ConfigMap')) {
      for (const k of Object.keys(cm.data ?? {})) expect(SECRET_NAME.test(k), `ConfigMap ${cm.metadata.name} holds ${k}`).toBe(false);
    }
    const env = Object.fromEntries(litemaas().spec.template.spec.containers[0].env.map((e: any) => [e.name, e.valueFrom?.secretKeyRef]));
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'LITEMAAS_SECRET', 'LITEMAAS_ADMIN_TOKEN', 'LITEMAAS_OIDC_CLIENT_SECRET']) {
      expect(env[name], name).toMatchObject({ name: expect.any(String), key: expect.any(String) });
    }
  });

  it('runs litemaas serve: rolling without unavailability, probes on /readyz and /healthz of its port, spread, PDB', () => {
    const d = litemaas();
    const c = d.spec.template.spec.containers[0];
    expect(c.args).toEqual(['serve']);
    expect(d.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    const http = c.ports.find((p: any) => p.name === 'http');
    const cm = named('ConfigMap', 'litemaas-config')!;
    expect(String(http.containerPort)).toBe(cm.data!.PORT);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe.httpGet.port).toBe('http');
    // A drain (up to 30 s in-flight, then the ledger's flush) fits in the grace period.
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(30);
    expect(d.spec.template.spec.topologySpreadConstraints?.length).toBeGreaterThan(0);
    for (const t of d.spec.template.spec.topologySpreadConstraints) expect(matches(t.labelSelector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
    const pdb = of('PodDisruptionBudget').find((p) => matches(p.spec.selector.matchLabels, d.spec.template.metadata.labels));
    expect(pdb, 'a PDB covers the gateway').toBeDefined();
    expect(pdb!.spec.minAvailable).toBeLessThan(d.spec.replicas);
    // Mounts: the data dir the server is told to use, and /tmp; both writable volumes.
    const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.mountPath, m.name]));
    expect(mounts[cm.data!.LITEMAAS_DATA_DIR!]).toBeDefined();
    expect(mounts['/tmp']).toBeDefined();
  });

  it('runs more than one replica only with REDIS_URL set, and the server reads every setting it is given', () => {
    for (const d of of('Deployment').filter((x) => x.metadata.name === 'litemaas')) {
      const env = d.spec.template.spec.containers[0].env.map((e: any) => e.name);
      if ((d.spec.replicas ?? 1) > 1) expect(env).toContain('REDIS_URL');
    }
    const hpa = named('HorizontalPodAutoscaler', 'litemaas');
    if (hpa) {
      expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'litemaas' });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    }
    const cm = named('ConfigMap', 'litemaas-config')!;
    for (const k of Object.keys(cm.data!)) expect(SERVER_SETTINGS.has(k), `litemaas-config: ${k} is not read by src/config.ts`).toBe(true);
    for (const e of litemaas().spec.template.spec.containers[0].env) expect(SERVER_SETTINGS.has(e.name), `env ${e.name} is not read by src/config.ts`).toBe(true);
    expect(cm.data!.LITEMAAS_TRUST_PROXY).toBe('true');
  });

  it('exposes LiteMaaS through a Route with edge TLS that points at its Service and port', () => {
    const svc = named('Service', 'litemaas')!;
    expect(matches(svc.spec.selector, litemaas().spec.template.metadata.labels)).toBe(true);
    const route = named('Route', 'litemaas')!;
    expect(route.spec.tls).toEqual({ termination: 'edge', insecureEdgeTerminationPolicy: 'Redirect' });
    expect(route.spec.to).toMatchObject({ kind: 'Service', name: 'litemaas' });
    expect(svc.spec.ports.map((p: any) => p.name)).toContain(route.spec.port.targetPort);
    for (const r of of('Route')) {
      expect(r.spec.tls?.termination, r.metadata.name).toBe('edge');
      expect(named('Service', r.spec.to.name), `Route ${r.metadata.name} → ${r.spec.to.name}`).toBeDefined();
    }
  });

  it('wires every Service, NetworkPolicy, probe port and ConfigMap/Secret volume to something that exists', () => {
    const pods = workloads.map((w) => ({ w, labels: w.spec.template.metadata.labels as Record<string, string> }));
    for (const s of of('Service')) {
      const backs = pods.filter((p) => matches(s.spec.selector, p.labels));
      expect(backs.length, `Service ${s.metadata.name} selects no pod`).toBeGreaterThan(0);
      const portNames = backs.flatMap((p) => p.w.spec.template.spec.containers.flatMap((c: any) => (c.ports ?? []).map((x: any) => x.name)));
      for (const p of s.spec.ports) if (typeof p.targetPort === 'string') expect(portNames, `Service ${s.metadata.name}`).toContain(p.targetPort);
    }
    for (const np of of('NetworkPolicy')) {
      expect(pods.some((p) => matches(np.spec.podSelector.matchLabels ?? {}, p.labels)), `NetworkPolicy ${np.metadata.name}`).toBe(true);
    }
    for (const w of workloads) {
      expect(matches(w.spec.selector?.matchLabels ?? {}, w.spec.template.metadata.labels), `${w.metadata.name}: selector ⊆ template labels`).toBe(true);
      for (const c of w.spec.template.spec.containers) {
        const names = (c.ports ?? []).map((p: any) => p.name);
        for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
          const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
          if (typeof port === 'string') expect(names, `${w.metadata.name} ${probe}`).toContain(port);
        }
        if (w.kind !== 'Job') expect(c.readinessProbe, `${w.metadata.name}/${c.name} readiness`).toBeDefined();
      }
      for (const v of w.spec.template.spec.volumes ?? []) {
        if (v.configMap) expect(named('ConfigMap', v.configMap.name), `${w.metadata.name}: ConfigMap ${v.configMap.name}`).toBeDefined();
      }
      if (w.spec.template.spec.serviceAccountName) expect(named('ServiceAccount', w.spec.template.spec.serviceAccountName)).toBeDefined();
    }
  });

  it('configures the stack from its ConfigMap with API_TOKEN from canopy-api-token, and Canopy on the stack', () => {
    const stack = named('Deployment', 'stack')!;
    const c = stack.spec.template.spec.containers[0];
    expect(c.args.slice(0, 1)).toEqual(['stack']);
    expect(c.env.find((e: any) => e.name === 'API_TOKEN').valueFrom.secretKeyRef).toEqual({ name: 'canopy-api-token', key: 'api_token' });
    const stackCm = named('ConfigMap', stack.spec.template.spec.volumes.find((v: any) => v.configMap).configMap.name)!;
    const cfg = stackConfig(parseYaml(stackCm.data!['stack.yaml']!), { API_TOKEN: 'from-the-secret' });
    expect(cfg.models.map((m) => m.tokenSource)).toEqual(cfg.models.map(() => 'API_TOKEN'));
    expect(cfg.models[0]!.url).toBe('http://litemaas:8080/v1');
    const canopy = named('Deployment', 'canopy')!;
    const canopyCm = named('ConfigMap', canopy.spec.template.spec.volumes.find((v: any) => v.configMap).configMap.name)!;
    const ccfg = canopyConfig(parseYaml(canopyCm.data!['canopy.yaml']!), {});
    expect(ccfg.llamaStackUrl).toBe('http://stack:8321');
    expect(cfg.models.map((m) => m.id)).toContain(ccfg.summarize.model);
  });

  if (overlay === 'dev') {
    it('dev: one command brings everything, and every Secret it needs is one the bootstrap job makes', () => {
      expect(named('Namespace', ns)).toBeDefined();
      for (const name of ['postgresql', 'redis', 'simulator', 'stack', 'canopy']) {
        expect(objs.some((o) => WORKLOADS.has(o.kind) && o.metadata.name === name), name).toBe(true);
      }
      const bootstrap = readFileSync('deploy/kustomize/components/dev-bootstrap/bootstrap.mjs', 'utf8');
      const made = new Set([...bootstrap.matchAll(/ensureSecret\('([a-z0-9-]+)'/g)].map((m) => m[1]!));
      made.add(/KEY_SECRET \?\? '([a-z0-9-]+)'/.exec(bootstrap)![1]!);
      for (const w of workloads) {
        for (const c of containersOf(w)) {
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            if (ref && !ref.optional) expect(made, `${w.metadata.name}: Secret ${ref.name} (${ref.key})`).toContain(ref.name);
          }
        }
      }
      // The simulator serves the model the bootstrap registers upstream.
      const sim = named('Deployment', 'simulator')!.spec.template.spec.containers[0].args;
      expect(sim[sim.indexOf('--served-model-name') + 1]).toBe(/UPSTREAM_MODEL \?\? '([^']+)'/.exec(bootstrap)![1]);
      const job = named('Job', 'litemaas-dev-bootstrap')!;
      expect(job.spec.template.spec.serviceAccountName).toBe('litemaas-dev-bootstrap');
      const role = named('Role', 'litemaas-dev-bootstrap')!;
      expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create'] }]);
      // No CRD-only kinds in dev besides the Route: it applies on OpenShift without the monitoring stack.
      expect(of('ServiceMonitor')).toEqual([]);
    });
  } else {
    it(`${overlay}: external PostgreSQL and Redis, more replicas, autoscaling, monitoring, a migrate hook`, () => {
      for (const name of ['postgresql', 'redis', 'simulator']) expect(objs.some((o) => o.metadata.name === name), name).toBe(false);
      expect(of('Namespace')).toEqual([]);
      expect(litemaas().spec.replicas).toBe(overlay === 'prod' ? 3 : 2);
      expect(named('HorizontalPodAutoscaler', 'litemaas')).toBeDefined();
      expect(named('ServiceMonitor', 'litemaas')).toBeDefined();
      expect(named('PrometheusRule', 'litemaas')).toBeDefined();
      expect(named('Job', 'litemaas-migrate')!.metadata.annotations!['argocd.argoproj.io/hook']).toBe('PreSync');
      expect(named('Job', 'litemaas-migrate')!.spec.template.spec.containers[0].args).toEqual(['migrate']);
      if (overlay === 'prod') expect(named('ConfigMap', 'litemaas-config')!.data!.LITEMAAS_REPLICAS).toBe('3');
    });
  }
});

describe.skipIf(!hasKubectl)('the schema validation bites', () => {
  const objs = hasKubectl ? render('deploy/kustomize/overlays/prod') : [];
  const get = (kind: string, name: string) => structuredClone(objs.find((o) => o.kind === kind && o.metadata.name === name)!);

  it('refuses a wrong type, a missing required field, a value outside an enum and a misspelt or misplaced field', () => {
    const d = get('Deployment', 'litemaas');
    expect(schemaErrors(d)).toEqual([]);
    const c = d.spec.template.spec.containers[0];
    c.ports[0].containerPort = '8080'; // a string where the API wants an integer
    d.spec.replicas = 'three';
    delete c.name; // required
    c.imagePullPolicy = 'Sometimes'; // not an enum value
    c.readinessProb = c.readinessProbe; // misspelt: the probe would silently not exist
    d.spec.template.spec.readOnlyRootFilesystem = true; // a container field at pod level
    const errors = schemaErrors(d).join('\n');
    expect(errors).toContain('data/spec/replicas must be integer');
    expect(errors).toContain('data/spec/template/spec/containers/0/ports/0/containerPort must be integer');
    expect(errors).toContain('data/spec/template/spec/containers/0 must have required property name');
    expect(errors).toContain('data/spec/template/spec/containers/0/imagePullPolicy must be equal to one of the allowed values');
    expect(errors).toContain('at /spec/template/spec/containers/0: unknown field "readinessProb"');
    expect(errors).toContain('at /spec/template/spec: unknown field "readOnlyRootFilesystem"');
  });

  it('checks the CRD kinds (ServiceMonitor, PrometheusRule) and the hand-checked Route as strictly', () => {
    const sm = get('ServiceMonitor', 'litemaas');
    sm.spec.endpoints[0].intervall = '30s';
    expect(schemaErrors(sm)).toEqual(['ServiceMonitor litemaas: at /spec/endpoints/0: unknown field "intervall"']);
    const pr = get('PrometheusRule', 'litemaas');
    pr.spec.groups[0].rules[0].labels.severity = 3;
    expect(schemaErrors(pr)).toEqual(['PrometheusRule litemaas: data/spec/groups/0/rules/0/labels/severity must be string']);
    const route = get('Route', 'litemaas');
    expect(schemaErrors(route)).toEqual([]);
    route.spec.tls.termination = 'Edge';
    route.spec.tls.insecureEdgeTermination = 'Redirect';
    route.metadata.labels.x = 3;
    const errors = schemaErrors(route).join('\n');
    expect(errors).toContain('data/spec/tls/termination must be equal to one of the allowed values');
    expect(errors).toContain('at /spec/tls: unknown field "insecureEdgeTermination"');
    expect(errors).toContain('data/metadata/labels/x must be string');
  });

  it('fails a kind it has no schema for instead of skipping it', () => {
    expect(schemaErrors({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } })).toEqual([
      'Pod p: no schema for v1/Pod (add its model to test/helpers/k8s-schema.ts, or a precise check to HAND_CHECKED)',
    ]);
    expect(schemaErrors({ apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'old' } })[0]).toContain('no schema for apps/v1beta1/Deployment');
  });
});

describe.skipIf(!hasKubectl)('the ingress component (Kubernetes without OpenShift)', () => {
  it('replaces the Route with an Ingress with TLS to the same Service', () => {
    const objs = render('deploy/kustomize/overlays/dev-kubernetes');
    expect(objs.flatMap(schemaErrors)).toEqual([]);
    expect(objs.filter((o) => o.kind === 'Route' && o.metadata.name === 'litemaas')).toEqual([]);
    const ing = objs.find((o) => o.kind === 'Ingress')!;
    expect(ing.spec.tls[0].secretName).toBeDefined();
    expect(ing.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'litemaas', port: { name: 'http' } });
  });
});
