/**
 * Dev bootstrap: what `npm start` does on one machine, done once in a dev namespace, so that
 * `kubectl apply -k deploy/kustomize/overlays/dev` is the one command. Nothing secret is in git:
 *   1. generates the Secrets the manifests reference, if absent: postgresql, redis,
 *      litemaas-database (DATABASE_URL), litemaas-redis (REDIS_URL), litemaas-secrets
 *      (LITEMAAS_SECRET, LITEMAAS_ADMIN_TOKEN, LITEMAAS_ADMIN_PASSWORD);
 *   2. waits for LiteMaaS, then through its admin API registers the simulator's model, creates the
 *      user `canopy`, subscribes it and creates its key `canopy-experiments`;
 *   3. writes that key to the Secret canopy-api-token (key api_token), which the stack reads as
 *      API_TOKEN: the same Secret test and prod get from a SealedSecret.
 * Re-running changes nothing that exists. Plain Node (no packages), run with the LiteMaaS image.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const env = process.env;
const SA = '/var/run/secrets/kubernetes.io/serviceaccount';
const api = env.KUBE_API ?? `https://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT}`;
const namespace = env.NAMESPACE ?? readFileSync(`${SA}/namespace`, 'utf8').trim();
const kubeToken = readFileSync(env.KUBE_TOKEN_FILE ?? `${SA}/token`, 'utf8').trim();
const litemaas = env.LITEMAAS_URL ?? 'http://litemaas:8080';
const model = {
  id: env.MODEL_ID ?? 'Llama-3.2-3B-Instruct-FP8',
  url: env.UPSTREAM_URL ?? 'http://simulator:8000/v1',
  upstreamModel: env.UPSTREAM_MODEL ?? 'llama32-fp8',
};
const keyUser = env.KEY_USER ?? 'canopy';
const keyName = env.KEY_NAME ?? 'canopy-experiments';
const keySecret = env.KEY_SECRET ?? 'canopy-api-token';
const random = (bytes) => randomBytes(bytes).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stdout.write(`bootstrap: ${msg}\n`);

async function kube(method, path, body) {
  const res = await fetch(`${api}/api/v1/namespaces/${namespace}${path}`, {
    method,
    headers: { authorization: `Bearer ${kubeToken}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The Secret's values (decoded), or null when it does not exist. */
async function readSecret(name) {
  const r = await kube('GET', `/secrets/${name}`);
  if (r.status === 404) return null;
  if (r.status !== 200) throw new Error(`GET secret ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return Object.fromEntries(Object.entries(r.body.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** Creates the Secret with `make()`'s values unless it exists; returns its values either way. */
async function ensureSecret(name, make) {
  const existing = await readSecret(name);
  if (existing) { log(`secret ${name} exists`); return existing; }
  const stringData = make();
  const r = await kube('POST', '/secrets', {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name, labels: { 'app.kubernetes.io/part-of': 'litemaas', 'app.kubernetes.io/created-by': 'litemaas-dev-bootstrap' } },
    stringData,
  });
  if (r.status === 409) return readSecret(name); // another run made it first
  if (r.status !== 201) throw new Error(`POST secret ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  log(`secret ${name} created`);
  return stringData;
}

async function admin(token, method, path, body) {
  const res = await fetch(`${litemaas}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function expectStatus(r, ok, what) {
  if (!ok.includes(r.status)) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function waitReady(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${litemaas}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${litemaas}/readyz did not answer within ${timeoutMs / 1000} s`);
    await sleep(2000);
  }
}

async function main() {
  const pg = await ensureSecret('postgresql', () => ({ POSTGRES_PASSWORD: random(24) }));
  const redis = await ensureSecret('redis', () => ({ REDIS_PASSWORD: random(24) }));
  await ensureSecret('litemaas-database', () => ({
    DATABASE_URL: `postgres://litemaas:${encodeURIComponent(pg.POSTGRES_PASSWORD)}@postgresql:5432/litemaas`,
  }));
  await ensureSecret('litemaas-redis', () => ({ REDIS_URL: `redis://:${encodeURIComponent(redis.REDIS_PASSWORD)}@redis:6379/0` }));
  const secrets = await ensureSecret('litemaas-secrets', () => ({
    LITEMAAS_SECRET: random(32), LITEMAAS_ADMIN_TOKEN: random(24), LITEMAAS_ADMIN_PASSWORD: random(12),
  }));
  if (await readSecret(keySecret)) { log(`secret ${keySecret} exists; nothing to provision`); return; }

  log(`waiting for ${litemaas}`);
  await waitReady(Number(env.READY_TIMEOUT_MS ?? 600_000));
  const token = secrets.LITEMAAS_ADMIN_TOKEN;
  const m = await admin(token, 'GET', `/admin/models/${encodeURIComponent(model.id)}`);
  if (m.status === 404) {
    expectStatus(await admin(token, 'POST', '/admin/models', {
      id: model.id, inputPricePer1M: 0.15, outputPricePer1M: 0.6, contextLength: 8192,
      deployments: [{ url: model.url, upstreamModel: model.upstreamModel }],
    }), [201], 'register the model');
    log(`model ${model.id} → ${model.url} (${model.upstreamModel})`);
  } else expectStatus(m, [200], 'read the model');

  const users = expectStatus(await admin(token, 'GET', '/admin/users'), [200], 'list users').users;
  const user = users.find((u) => u.username === keyUser)
    ?? expectStatus(await admin(token, 'POST', '/admin/users', { username: keyUser }), [201], 'create the user');
  expectStatus(await admin(token, 'POST', `/admin/users/${user.id}/subscriptions`, { modelId: model.id }), [200, 201], 'subscribe');
  const key = expectStatus(await admin(token, 'POST', `/admin/users/${user.id}/api-keys`, { name: keyName, models: [model.id] }), [201], 'create the key');
  await ensureSecret(keySecret, () => ({ api_token: key.key }));
  log(`key ${keyName} of ${keyUser} is in secret ${keySecret} (api_token)`);
}

main().catch((err) => {
  process.stderr.write(`bootstrap: ${err.message}\n`);
  process.exit(1);
});
