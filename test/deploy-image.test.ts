/**
 * The Containerfile cannot be built here (no container engine), so it is linted for what can be
 * read: multi-stage with the run stage on UBI 9 nodejs-20-minimal, pinned base images, a numeric
 * non-root USER in group 0, exec-form ENTRYPOINT and CMD (no shell at run time), SIGTERM as the
 * stop signal, the OCI labels, the data dir as the only volume, the built server and both UIs
 * copied, only production packages; and it agrees with the root filesystem build-rootfs.sh makes
 * (same entrypoint, same environment, same data dir) and with the manifests' mounts.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';

interface Instr { op: string; args: string; line: number }

/** Instructions with continuation lines joined and comments dropped. */
function parse(text: string): Instr[] {
  const out: Instr[] = [];
  let buf = '', start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!buf && (line === '' || line.startsWith('#'))) return;
    if (buf && line.startsWith('#')) return;
    if (!buf) start = i + 1;
    buf += (buf ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      const [, op, args] = /^(\w+)\s+([\s\S]*)$/.exec(buf)!;
      out.push({ op: op!.toUpperCase(), args: args!, line: start });
      buf = '';
    }
  });
  return out;
}

const instrs = parse(readFileSync('Containerfile', 'utf8'));
const stages: Instr[][] = [];
for (const i of instrs) {
  if (i.op === 'FROM') stages.push([]);
  stages[stages.length - 1]?.push(i);
}
const run = stages[stages.length - 1]!;
const last = (op: string, s = run) => s.filter((i) => i.op === op).pop();
const envOf = (s: Instr[]) => Object.fromEntries(s.filter((i) => i.op === 'ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]])));

describe('Containerfile', () => {
  it('builds with the full toolchain and runs on UBI 9 nodejs-20-minimal, with pinned bases', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const froms = instrs.filter((i) => i.op === 'FROM');
    expect(froms[0]!.args).toMatch(/^registry\.access\.redhat\.com\/ubi9\/nodejs-20:\S+ AS build$/);
    expect(run[0]!.args).toMatch(/^registry\.access\.redhat\.com\/ubi9\/nodejs-20-minimal:\S+$/);
    for (const f of froms) {
      const image = f.args.split(/\s+/)[0]!;
      expect(image, 'a tag or digest').toMatch(/[:@]/);
      expect(image).not.toMatch(/:latest$/);
    }
    const build = stages[0]!.filter((i) => i.op === 'RUN').map((i) => i.args).join(' && ');
    expect(build).toContain('npm ci');
    expect(build).toContain('npm run build');
    expect(build).toContain('npm prune --omit=dev');
  });

  it('copies the built server, both UIs and the production packages into the run stage', () => {
    const build = stages[0]!.filter((i) => i.op === 'RUN').map((i) => i.args).join(' ');
    for (const part of ['dist/src', 'dist/web', 'dist/canopy-web', 'node_modules', 'package.json']) expect(build).toContain(part);
    expect(run.some((i) => i.op === 'COPY' && i.args.startsWith('--from=build /runtime/opt/app-root/src /opt/app-root/src'))).toBe(true);
  });

  it('runs as a numeric non-root UID in group 0, with an exec-form entrypoint and SIGTERM', () => {
    const user = last('USER')!.args;
    const [uid, gid] = user.split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(gid).toBe('0');
    // USER 0 is only for build-time steps; nothing after the last USER runs as root.
    expect(run.indexOf(last('USER')!)).toBeGreaterThan(run.indexOf(run.filter((i) => i.op === 'RUN').pop()!));
    const entry = JSON.parse(last('ENTRYPOINT')!.args);
    expect(entry).toEqual(['/usr/bin/node', '/opt/app-root/src/dist/src/cli.js']);
    expect(JSON.parse(last('CMD')!.args)).toEqual(['serve']);
    expect(last('STOPSIGNAL')!.args).toBe('SIGTERM');
    expect(last('HEALTHCHECK')).toBeUndefined(); // probes belong to the platform; a HEALTHCHECK CMD would need a shell
    expect(run.filter((i) => i.op === 'SHELL')).toEqual([]);
  });

  it('carries the OCI labels: version, source, licence (the package.json licence)', () => {
    const labels = Object.fromEntries(run.filter((i) => i.op === 'LABEL').flatMap((i) => [...i.args.matchAll(/([\w.-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]])));
    expect(labels['org.opencontainers.image.version']).toBe('${VERSION}');
    expect(labels['org.opencontainers.image.source']).toBe('${SOURCE}');
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(labels['org.opencontainers.image.licenses']).toBe(pkg.license);
    expect(labels['org.opencontainers.image.title']).toBe('litemaas');
    const version = instrs.find((i) => i.op === 'ARG' && i.args.startsWith('VERSION='))!.args.split('=')[1];
    expect(version).toBe(pkg.version);
  });

  it('writes only to the data volume and /tmp: the data dir is the one volume, group 0 may write it', () => {
    const env = envOf(run);
    expect(env.LITEMAAS_DATA_DIR).toBe('/var/lib/litemaas');
    expect(env.CANOPY_DATA_DIR!.startsWith(env.LITEMAAS_DATA_DIR + '/')).toBe(true);
    expect(JSON.parse(last('VOLUME')!.args)).toEqual(['/var/lib/litemaas']);
    const mk = run.find((i) => i.op === 'RUN')!.args;
    expect(mk).toContain('chmod 0770 /var/lib/litemaas');
    expect(mk).toContain('chown 0:0 /var/lib/litemaas');
  });

  it('ignores what the build must not see (node_modules, dist, data, .git)', () => {
    for (const f of ['.containerignore', '.dockerignore']) {
      const ignored = readFileSync(f, 'utf8').split('\n').map((l) => l.trim());
      for (const p of ['node_modules', 'dist', 'data', '.git']) expect(ignored, `${f}: ${p}`).toContain(p);
    }
  });
});

describe('the image, the root filesystem and the manifests agree', () => {
  const runner = readFileSync('deploy/image/run-rootfs.sh', 'utf8');
  const builder = readFileSync('deploy/image/build-rootfs.sh', 'utf8');

  it('the rootfs runner uses the same entrypoint and environment', () => {
    expect(runner).toContain(`entry="${JSON.parse(last('ENTRYPOINT')!.args).join(' ')}"`);
    for (const [k, v] of Object.entries(envOf(run))) expect(runner, `${k}=${v}`).toContain(`${k}=${v}`);
  });

  it('the rootfs has the same layout: app under /opt/app-root/src, data dir 0770 root:0', () => {
    expect(builder).toContain('dst="$out/opt/app-root/src"');
    expect(builder).toContain('chmod 0770 "$out/var/lib/litemaas"');
    expect(builder).toMatch(/cp -R "\$app\/dist\/src" "\$app\/dist\/web" "\$app\/dist\/canopy-web"/);
  });

  it('the Deployment mounts the data dir and /tmp, and runs the image\'s roles by argument', () => {
    const base = readFileSync('deploy/kustomize/base/deployment.yaml', 'utf8');
    expect(base).toContain('mountPath: /var/lib/litemaas');
    expect(base).toContain('mountPath: /tmp');
    expect(base).toContain('args: ["serve"]');
    for (const [component, role] of [['stack', 'stack'], ['canopy', 'canopy'], ['simulator', 'sim'], ['migrate-job', 'migrate']]) {
      const y = readFileSync(`deploy/kustomize/components/${component}/${component === 'migrate-job' ? 'job' : 'deployment'}.yaml`, 'utf8');
      expect(y, component).toMatch(new RegExp(`args: \\["${role}"`));
    }
  });
});
