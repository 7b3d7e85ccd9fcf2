/**
 * The GitOps half: Argo CD Applications for test and prod point at paths that exist and render;
 * Canopy's key is a SealedSecret (bitnami.com/v1alpha1) whose Secret `canopy-api-token` has the
 * key `api_token`, the one the stack reads as API_TOKEN in the overlay the same Application
 * syncs; and nothing secret is committed: the rendered output of every overlay and the repository's
 * own files (tests aside, whose fixtures are fake on purpose) hold no LiteMaaS key, no password or
 * token literal, no credentials in a URL, no private key and no plain Secret. Every object under
 * deploy/gitops is validated against its CRD's schema (Argo CD's Application, Bitnami's
 * SealedSecret), as is the Secret that View key and `litemaas keys create --output k8s-secret` print.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { schemaErrors } from './helpers/k8s-schema.js';
import { secretManifest } from '../src/web/src/k8s-secret.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
if (!hasKubectl) console.warn('gitops test: kubectl is not installed; the rendered overlays are not scanned');

const docs = (text: string) => parseAllDocuments(text).map((d) => d.toJSON()).filter(Boolean) as any[];
const render = (path: string) => execFileSync('kubectl', ['kustomize', path], { encoding: 'utf8' });
const APPS = 'deploy/gitops/applications';

describe('Argo CD Applications', () => {
  const apps = readdirSync(APPS).filter((f) => f.endsWith('.yaml')).map((f) => docs(readFileSync(join(APPS, f), 'utf8'))[0]);

  it('are valid Argo CD Applications, and so is every SealedSecret under deploy/gitops (schemas offline)', () => {
    const files = ['applications', 'test', 'prod'].flatMap((d) => readdirSync(`deploy/gitops/${d}`).filter((f) => f.endsWith('.yaml')).map((f) => `deploy/gitops/${d}/${f}`));
    const objs = files.flatMap((f) => docs(readFileSync(f, 'utf8')));
    expect(objs.map((o) => o.kind).sort()).toEqual(['Application', 'Application', 'SealedSecret', 'SealedSecret']);
    expect(objs.flatMap(schemaErrors)).toEqual([]);
    // The check reaches into the CRDs' specs.
    const app = structuredClone(apps[0]);
    app.spec.sources[0].targetRevison = 'main';
    app.spec.syncPolicy.automated.prune = 'yes';
    expect(schemaErrors(app)).toEqual([
      `Application ${app.metadata.name}: data/spec/syncPolicy/automated/prune must be boolean`,
      `Application ${app.metadata.name}: at /spec/sources/0: unknown field "targetRevison"`,
    ]);
  });

  it('View key\'s Secret (the same as keys create --output k8s-secret) is a valid v1 Secret with api_token', () => {
    const secret = parseYaml(secretManifest('canopy-experiments', `sk-${'x'.repeat(43)}`));
    expect(schemaErrors(secret)).toEqual([]);
    expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: 'canopy-experiments-api-token' }, stringData: { api_token: expect.stringMatching(/^sk-/) } });
  });

  it('exist for test and prod and point at paths of this repository that exist', () => {
    expect(apps.map((a) => a.metadata.name).sort()).toEqual(['litemaas-prod', 'litemaas-test']);
    for (const a of apps) {
      expect(a.apiVersion).toBe('argoproj.io/v1alpha1');
      expect(a.kind).toBe('Application');
      const env = a.metadata.name.replace('litemaas-', '');
      const paths = a.spec.sources.map((s: any) => s.path);
      expect(paths).toEqual([`deploy/kustomize/overlays/${env}`, `deploy/gitops/${env}`]);
      for (const p of paths) expect(statSync(p).isDirectory(), p).toBe(true);
      expect(existsSync(`deploy/kustomize/overlays/${env}/kustomization.yaml`)).toBe(true);
      expect(new Set(a.spec.sources.map((s: any) => s.repoURL)).size).toBe(1);
      expect(a.spec.syncPolicy.automated).toMatchObject({ prune: true, selfHeal: true });
    }
  });

  it.skipIf(!hasKubectl)('deploy into the namespace their overlay renders into, where the sealed key lands, and leave the HPA its replicas', () => {
    for (const a of apps) {
      const [overlay, sealed] = a.spec.sources.map((s: any) => s.path);
      const objs = docs(render(overlay));
      const namespaces = new Set(objs.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace));
      expect([...namespaces]).toEqual([a.spec.destination.namespace]);
      // With an autoscaler on the gateway, Argo CD must leave its replica count alone (or self-heal fights the HPA).
      if (objs.some((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.name === 'litemaas')) {
        expect(a.spec.ignoreDifferences).toContainEqual({ group: 'apps', kind: 'Deployment', name: 'litemaas', jsonPointers: ['/spec/replicas'] });
        expect(a.spec.syncPolicy.syncOptions).toContain('RespectIgnoreDifferences=true');
      }
      const files = readdirSync(sealed).filter((f) => f.endsWith('.sealedsecret.yaml'));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        for (const s of docs(readFileSync(join(sealed, f), 'utf8'))) expect(s.metadata.namespace, f).toBe(a.spec.destination.namespace);
      }
    }
  });
});

describe('Canopy\'s key, sealed', () => {
  for (const env of ['test', 'prod']) {
    it.skipIf(!hasKubectl)(`${env}: a SealedSecret for canopy-api-token/api_token, the Secret the stack reads as API_TOKEN`, () => {
      const [s] = docs(readFileSync(`deploy/gitops/${env}/canopy-api-token.sealedsecret.yaml`, 'utf8'));
      expect(s.apiVersion).toBe('bitnami.com/v1alpha1');
      expect(s.kind).toBe('SealedSecret');
      expect(s.spec.template.metadata.name).toBe('canopy-api-token');
      expect(s.metadata.name).toBe('canopy-api-token');
      expect(Object.keys(s.spec.encryptedData)).toEqual(['api_token']);
      const stack = docs(render(`deploy/kustomize/overlays/${env}`)).find((o) => o.kind === 'Deployment' && o.metadata.name === 'stack');
      const env_ = stack.spec.template.spec.containers[0].env.find((e: any) => e.name === 'API_TOKEN');
      expect(env_.valueFrom.secretKeyRef).toEqual({ name: s.spec.template.metadata.name, key: 'api_token' });
    });
  }
});

/** What counts as a committed secret; each finding names the file and line. */
const RULES: Array<{ name: string; re: RegExp; allow?: (m: string) => boolean }> = [
  // LiteMaaS's own key format (src/shared/secrets.ts): sk- and 43 base64url characters.
  { name: 'LiteMaaS API key', re: /\bsk-[A-Za-z0-9_-]{43}\b/g },
  // OpenAI-style keys (sk-proj-…, sk-…) of real length.
  { name: 'sk- key', re: /\bsk-(?:proj-)?[A-Za-z0-9]{32,}\b/g },
  { name: 'private key', re: /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/g },
  { name: 'GitHub / GitLab token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_-]{20,})\b/g },
  { name: 'AWS access key', re: /\bAKIA[0-9A-Z]{16}\b/g },
  // scheme://user:password@host, unless the password is a placeholder or an expression.
  {
    name: 'password in a URL', re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@'"`]+:([^\s@/'"`]+)@/g,
    allow: (m) => /:(?:<[^>]*>|\$\{|\$\(|\$[A-Z_]|\*+|x+|password|PASSWORD|pass|secret|\.\.\.|…)/.test(m.slice(m.indexOf('://') + 3)),
  },
  // NAME: value / NAME=value where NAME says secret and the value looks generated (long, no spaces).
  {
    name: 'secret-named literal', re: /\b[\w.-]*(?:password|passwd|secret|token|api_key|apikey)[\w.-]*["']?\s*[:=]\s*["']?([A-Za-z0-9+/_=-]{20,})["']?/gi,
    allow: (m) => /REPLACE|EXAMPLE|PLACEHOLDER|CHANGE[-_]?ME|secretKeyRef|\$\(|process\.env/i.test(m) || !generated(/([A-Za-z0-9+/_=-]{20,})["']?$/.exec(m)![1]!),
  },
];

/** A value that looks generated rather than a name: letters and digits mixed, not an identifier in CONST_CASE. */
const generated = (v: string) => /[0-9]/.test(v) && /[A-Za-z]/.test(v) && !/^[A-Z][A-Z0-9_]*$/.test(v);

function scan(label: string, text: string): string[] {
  const found: string[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const seen: Array<[number, number]> = []; // one finding per stretch of text, from the most specific rule
    for (const r of RULES) {
      for (const m of line.matchAll(r.re)) {
        const [from, to] = [m.index!, m.index! + m[0].length];
        if (r.allow?.(m[0]) || seen.some(([a, b]) => from < b && to > a)) continue;
        seen.push([from, to]);
        found.push(`${label}:${i + 1}: ${r.name}: ${m[0].slice(0, 80)}`);
      }
    }
  });
  return found;
}

describe('nothing secret committed', () => {
  it('the scanner finds what it must (a key, a password URL, a token literal, a private key)', () => {
    const planted = [
      `api_token: sk-${'A1b2C3d4E5'.repeat(4)}xyz`,
      'DATABASE_URL: postgres://litemaas:hunter2hunter2@postgresql:5432/litemaas',
      'LITEMAAS_ADMIN_TOKEN: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"',
      '-----BEGIN RSA PRIVATE KEY-----',
    ].join('\n');
    expect(scan('planted', planted).map((f) => f.split(': ')[1])).toEqual(['LiteMaaS API key', 'password in a URL', 'secret-named literal', 'private key']);
    expect(scan('placeholders', 'url: postgres://litemaas:<password>@db/x\nref: secretKeyRef\napi_token: REPLACE-WITH-KUBESEAL-OUTPUT\nDATABASE_URL: `postgres://litemaas:${encodeURIComponent(pw)}@postgresql`')).toEqual([]);
  });

  it.skipIf(!hasKubectl)('in the rendered output of every overlay: no Secret object and no secret literal', () => {
    for (const overlay of readdirSync('deploy/kustomize/overlays')) {
      const text = render(`deploy/kustomize/overlays/${overlay}`);
      expect(docs(text).filter((o) => o.kind === 'Secret').map((o) => o.metadata.name), overlay).toEqual([]);
      expect(scan(overlay, text)).toEqual([]);
    }
  });

  it('in the repository: no key, password, token or private key outside the tests\' fixtures', () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' })
      .split('\n').filter(Boolean)
      .filter((f) => !f.startsWith('test/') && f !== 'package-lock.json' && existsSync(f) && statSync(f).isFile() && statSync(f).size < 2_000_000);
    expect(files).toContain('deploy/gitops/test/canopy-api-token.sealedsecret.yaml');
    const found: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      if (text.includes('\u0000')) continue; // binary
      found.push(...scan(f, text));
      // A plain Kubernetes Secret with values is never committed (SealedSecrets are).
      if (/\.ya?ml$/.test(f)) {
        for (const d of docs(text)) if (d?.kind === 'Secret' && (d.data || d.stringData)) found.push(`${f}: a Secret with values`);
      }
    }
    expect(found).toEqual([]);
  });
});
