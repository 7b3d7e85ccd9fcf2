/**
 * Renders every overlay with `kubectl kustomize` (offline) and checks what a platform engineer
 * would before applying it: Pod Security "restricted" / OpenShift restricted-v2 on every pod and
 * container (non-root without a fixed UID, no privilege escalation, ALL capabilities dropped,
 * RuntimeDefault seccomp, read-only root), every secret by secretKeyRef, probes on the paths and
 * ports the server serves, resources, no `latest` tags, consistent labels and selectors, the
 * Route's edge TLS, replicas > 1 only with REDIS_URL, settings names the server reads, and the
 * stack's and Canopy's ConfigMaps accepted by their own config parsers.
 * (The `kubernetes-models` packages are not installed here, so fields are checked directly, with a
 * field-name check against the API's fields standing in for schema validation.)
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { stackConfig } from '../src/stack/config.js';
import { canopyConfig } from '../src/canopy/config.js';

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

/**
 * Field names of the API objects these manifests use (Kubernetes 1.30 core/apps/batch), to catch a
 * misspelt field that the API server would drop or refuse: not a full schema, a typo check.
 */
const FIELDS: Record<string, string[]> = {
  object: ['apiVersion', 'kind', 'metadata', 'spec', 'data', 'binaryData', 'immutable', 'rules', 'roleRef', 'subjects', 'automountServiceAccountToken', 'imagePullSecrets', 'secrets'],
  metadata: ['name', 'namespace', 'labels', 'annotations', 'finalizers'],
  deploymentSpec: ['replicas', 'selector', 'template', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'],
  statefulSetSpec: ['replicas', 'selector', 'template', 'volumeClaimTemplates', 'serviceName', 'podManagementPolicy', 'updateStrategy', 'revisionHistoryLimit', 'minReadySeconds', 'persistentVolumeClaimRetentionPolicy', 'ordinals'],
  jobSpec: ['parallelism', 'completions', 'activeDeadlineSeconds', 'podFailurePolicy', 'successPolicy', 'backoffLimit', 'backoffLimitPerIndex', 'maxFailedIndexes', 'selector', 'manualSelector', 'template', 'ttlSecondsAfterFinished', 'completionMode', 'suspend', 'podReplacementPolicy'],
  podSpec: ['volumes', 'initContainers', 'containers', 'restartPolicy', 'terminationGracePeriodSeconds', 'activeDeadlineSeconds', 'dnsPolicy', 'nodeSelector', 'serviceAccountName', 'automountServiceAccountToken', 'hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace', 'securityContext', 'imagePullSecrets', 'hostname', 'subdomain', 'affinity', 'schedulerName', 'tolerations', 'priorityClassName', 'dnsConfig', 'readinessGates', 'runtimeClassName', 'enableServiceLinks', 'topologySpreadConstraints', 'os', 'hostUsers'],
  podSecurityContext: ['seLinuxOptions', 'runAsUser', 'runAsGroup', 'runAsNonRoot', 'supplementalGroups', 'fsGroup', 'sysctls', 'fsGroupChangePolicy', 'seccompProfile', 'appArmorProfile'],
  container: ['name', 'image', 'command', 'args', 'workingDir', 'ports', 'envFrom', 'env', 'resources', 'resizePolicy', 'restartPolicy', 'volumeMounts', 'volumeDevices', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty'],
  securityContext: ['capabilities', 'privileged', 'seLinuxOptions', 'runAsUser', 'runAsGroup', 'runAsNonRoot', 'readOnlyRootFilesystem', 'allowPrivilegeEscalation', 'procMount', 'seccompProfile', 'appArmorProfile'],
  probe: ['exec', 'httpGet', 'tcpSocket', 'grpc', 'initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'],
  envVar: ['name', 'value', 'valueFrom'],
  volumeMount: ['name', 'readOnly', 'mountPath', 'subPath', 'mountPropagation', 'subPathExpr', 'recursiveReadOnly'],
  volume: ['name', 'emptyDir', 'configMap', 'secret', 'persistentVolumeClaim', 'projected', 'downwardAPI', 'ephemeral'],
  containerPort: ['name', 'containerPort', 'protocol', 'hostPort', 'hostIP'],
  resources: ['limits', 'requests', 'claims'],
  serviceSpec: ['ports', 'selector', 'clusterIP', 'clusterIPs', 'type', 'externalIPs', 'sessionAffinity', 'loadBalancerIP', 'loadBalancerSourceRanges', 'externalName', 'externalTrafficPolicy', 'healthCheckNodePort', 'publishNotReadyAddresses', 'sessionAffinityConfig', 'ipFamilies', 'ipFamilyPolicy', 'allocateLoadBalancerNodePorts', 'loadBalancerClass', 'internalTrafficPolicy', 'trafficDistribution'],
  servicePort: ['name', 'protocol', 'appProtocol', 'port', 'targetPort', 'nodePort'],
};

function unknownFields(o: Obj): string[] {
  const bad: string[] = [];
  const check = (value: any, kind: string, at: string) => {
    for (const k of Object.keys(value ?? {})) if (!FIELDS[kind]!.includes(k)) bad.push(`${o.kind} ${o.metadata.name}: ${at}.${k}`);
  };
  check(o, 'object', '');
  check(o.metadata, 'metadata', 'metadata');
  const specKind = ({ Deployment: 'deploymentSpec', StatefulSet: 'statefulSetSpec', Job: 'jobSpec', Service: 'serviceSpec' } as Record<string, string>)[o.kind];
  if (specKind) check(o.spec, specKind, 'spec');
  if (o.kind === 'Service') for (const p of o.spec.ports) check(p, 'servicePort', 'spec.ports[]');
  if (!WORKLOADS.has(o.kind)) return bad;
  const pod = o.spec.template.spec;
  check(pod, 'podSpec', 'spec.template.spec');
  check(pod.securityContext, 'podSecurityContext', 'spec.template.spec.securityContext');
  for (const v of pod.volumes ?? []) check(v, 'volume', `volumes[${v.name}]`);
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const at = `containers[${c.name}]`;
    check(c, 'container', at);
    check(c.securityContext, 'securityContext', `${at}.securityContext`);
    check(c.resources, 'resources', `${at}.resources`);
    for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) if (c[p]) check(c[p], 'probe', `${at}.${p}`);
    for (const e of c.env ?? []) check(e, 'envVar', `${at}.env[${e.name}]`);
    for (const m of c.volumeMounts ?? []) check(m, 'volumeMount', `${at}.volumeMounts[${m.name}]`);
    for (const p of c.ports ?? []) check(p, 'containerPort', `${at}.ports[${p.name}]`);
  }
  return bad;
}

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

  it('uses only field names the API defines (a typo check; kubernetes-models is not installed for a full schema)', () => {
    expect(objs.flatMap(unknownFields)).toEqual([]);
    // The check bites: a misspelt probe and a misplaced field are found.
    const typo = structuredClone(litemaas());
    typo.spec.template.spec.containers[0].readinessProb = {};
    typo.spec.template.spec.readOnlyRootFilesystem = true;
    expect(unknownFields(typo)).toEqual(['Deployment litemaas: spec.template.spec.readOnlyRootFilesystem', 'Deployment litemaas: containers[litemaas].readinessProb']);
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

describe.skipIf(!hasKubectl)('the ingress component (Kubernetes without OpenShift)', () => {
  it('replaces the Route with an Ingress with TLS to the same Service', () => {
    const objs = render('deploy/kustomize/overlays/dev-kubernetes');
    expect(objs.filter((o) => o.kind === 'Route' && o.metadata.name === 'litemaas')).toEqual([]);
    const ing = objs.find((o) => o.kind === 'Ingress')!;
    expect(ing.spec.tls[0].secretName).toBeDefined();
    expect(ing.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'litemaas', port: { name: 'http' } });
  });
});
