/**
 * @module `litemaas start` (npm start): the workshop's "After" picture on
 * one machine, on embedded defaults — simulator → LiteMaaS (admin, model,
 * subscription and the `canopy-experiments` key, provisioned through the
 * admin API as a lab would) → stack (that key as its token) → Canopy. A
 * second start reuses what the first created.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Config } from '../config.js';
import { randomToken } from '../config.js';
import { startSimulator } from '../simulator/server.js';
import { startServer, type Running } from '../server.js';
import { stackConfig } from '../stack/config.js';
import { startStack } from '../stack/server.js';
import { canopyConfig } from '../canopy/config.js';
import { startCanopy } from '../canopy/server.js';
import { onShutdown } from './serve.js';

export const DEMO_MODEL = 'Llama-3.2-3B-Instruct-FP8';
export const DEMO_UPSTREAM = 'llama32-fp8';
export const DEMO_KEY = 'canopy-experiments';
export const STACK_MODEL_ID = `vllm-${DEMO_MODEL}/${DEMO_MODEL}`;

const port = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

function adminToken(cfg: Config): string {
  if (cfg.adminToken) return cfg.adminToken;
  const file = join(cfg.dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(cfg.dataDir, { recursive: true });
  const t = randomToken();
  writeFileSync(file, t + '\n', { mode: 0o600 });
  return t;
}

/** The demo model, pointed at this start's simulator (its port may differ from the last start's). */
async function ensureModel(running: Running, simUrl: string): Promise<void> {
  const models = running.services.models;
  const existing = await models.get(DEMO_MODEL).catch(() => null);
  const deployments = [{ url: `${simUrl}/v1`, upstreamModel: DEMO_UPSTREAM }];
  if (!existing) {
    await models.create({
      id: DEMO_MODEL, description: 'Llama 3.2 3B Instruct, FP8 (served by the built-in simulator)', provider: 'vllm',
      kind: 'chat', contextLength: 8192, features: ['chat', 'streaming'], inputPricePer1M: '0.15', outputPricePer1M: '0.60',
      deployments,
    });
  } else if (existing.deployments?.length !== 1 || existing.deployments[0]!.url !== deployments[0]!.url) {
    const { id: _id, createdAt: _c, deployments: _d, ...rest } = existing;
    await models.update(DEMO_MODEL, { ...rest, deployments });
  }
}

/**
 * Canopy's key: subscribe the admin account and create `canopy-experiments` through the admin API (the
 * provisioning path a lab or pipeline uses, audited like any other), or reuse the active one from a previous start.
 */
async function ensureCanopyKey(running: Running, token: string): Promise<string> {
  const s = running.services;
  const admin = await s.db.selectFrom('users').select('id').where('username', '=', 'admin').executeTakeFirstOrThrow();
  const existing = (await s.keys.listForUser(admin.id)).find((k) => k.name === DEMO_KEY && k.status === 'active');
  if (existing) return s.keys.reveal(existing.id);
  const call = async (path: string, body: unknown) => {
    const r = await fetch(`${running.url}/api/v1${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    if (r.status >= 300) throw new Error(`provisioning ${path}: ${r.status} ${await r.text()}`);
    return r.json() as Promise<{ key?: string }>;
  };
  await call(`/admin/users/${admin.id}/subscriptions`, { modelId: DEMO_MODEL });
  const k = await call(`/admin/users/${admin.id}/api-keys`, {
    name: DEMO_KEY, description: 'Canopy backend, through the stack (created by npm start)', models: [DEMO_MODEL],
  });
  return k.key!;
}

export const CANOPY_DEMO_CONFIG = (stackUrl: string) => ({
  LLAMA_STACK_URL: stackUrl,
  summarize: {
    enabled: true,
    model: STACK_MODEL_ID,
    prompt: 'You are Canopy, an educational assistant. Summarise the text the student gives you in a few clear sentences, keeping the key ideas and terms.',
    prompt_b: 'Summarise the text as three short bullet points a student can revise from.',
    max_tokens: 2048,
    temperature: 0.7,
  },
  'socratic-tutor': {
    enabled: true,
    model: STACK_MODEL_ID,
    prompt: 'You are a Socratic tutor: answer with guiding questions that lead the student to the answer.',
  },
  feedback: { enabled: true },
  ab_testing: { enabled: false },
});

export async function startCommand(cfg: Config): Promise<void> {
  const sim = await startSimulator({ port: port('SIM_PORT', 8000), host: '127.0.0.1', servedModelName: DEMO_UPSTREAM, quiet: true });
  const token = adminToken(cfg);
  // A demo listens on this machine only unless HOST says otherwise (every role reads HOST; serve defaults to 0.0.0.0 for containers).
  const host = process.env.HOST || '127.0.0.1';
  const running = await startServer({ ...cfg, host, adminToken: token });
  await ensureModel(running, sim.url);
  const admin = await running.services.users.ensureAdmin(cfg.adminPassword, () => randomToken(12));
  await running.gateway.reload();
  const key = await ensureCanopyKey(running, token);

  // The stack gets the key the way the workshop's Sealed Secret gives it: as API_TOKEN, never in its config file.
  const stackFile = { models: [{ name: DEMO_MODEL, url: `${running.url}/v1` }] };
  const stack = await startStack(stackConfig({ ...stackFile, port: port('STACK_PORT', 8321), host: '127.0.0.1' }, { API_TOKEN: key }));
  const canopyFile = CANOPY_DEMO_CONFIG(stack.url);
  const canopy = await startCanopy(canopyConfig(canopyFile, {}), {
    port: port('CANOPY_PORT', 8501), host: '127.0.0.1', dataDir: join(cfg.dataDir, 'canopy'), logLevel: cfg.logLevel === 'info' ? 'warn' : cfg.logLevel,
  });
  writeFileSync(join(cfg.dataDir, 'stack.yaml'), stringify(stackFile));
  writeFileSync(join(cfg.dataDir, 'canopy.yaml'), stringify(canopyFile, { lineWidth: 0 }));

  onShutdown(async () => { await canopy.close(); await stack.close(); await running.close(); await sim.close(); });
  const u = running.url;
  const tokenHint = cfg.adminToken ? '$LITEMAAS_ADMIN_TOKEN' : `$(cat ${join(cfg.dataDir, 'admin-token')})`;
  process.stdout.write(`
LiteMaaS is running: the workshop's "After" picture (store: ${running.store.kind}, data: ${cfg.dataDir})

  Canopy     ${canopy.url}/          the app: summarise a text, it goes through the stack and LiteMaaS
  LiteMaaS   ${u}/          portal (Models, API Keys, Usage), gateway ${u}/v1, API ${u}/api/v1, docs ${u}/docs
  stack      ${stack.url}/v1        Llama-Stack-compatible router: ${STACK_MODEL_ID} → LiteMaaS with the key '${DEMO_KEY}'
  simulator  ${sim.url}/v1   the model server behind LiteMaaS (serves ${DEMO_UPSTREAM})

Sign in to the portal as admin with ${admin.password ? `the password ${admin.password}  (shown once: note it; set LITEMAAS_ADMIN_PASSWORD to choose it)` : cfg.adminPassword ? '$LITEMAAS_ADMIN_PASSWORD' : 'the password printed at the first start (or restart with LITEMAAS_ADMIN_PASSWORD on a fresh LITEMAAS_DATA_DIR)'}.
Canopy runs on the admin's key '${DEMO_KEY}': its usage shows up under that key on the Usage page.
To give Canopy a key of your own (the workshop's Step 2): sign in, subscribe to ${DEMO_MODEL} on Models, create a key on
API Keys, then run the stack with it:  API_TOKEN=<your key> litemaas stack --config ${join(cfg.dataDir, 'stack.yaml')}
(after stopping this demo, or with STACK_PORT set to another port and Canopy's LLAMA_STACK_URL pointed at it).
${host === '127.0.0.1' ? 'Everything listens on 127.0.0.1 only; set HOST=0.0.0.0 to reach LiteMaaS from other machines.\n' : ''}
Each piece alone, as in production (configs written to ${cfg.dataDir}):
  API_TOKEN=<the key> litemaas stack --config ${join(cfg.dataDir, 'stack.yaml')}
  litemaas canopy --config ${join(cfg.dataDir, 'canopy.yaml')}

Provision a user and a key with the admin API (admin token: ${cfg.adminToken ? '$LITEMAAS_ADMIN_TOKEN' : `in ${join(cfg.dataDir, 'admin-token')}`}):
  export T=${tokenHint}
  U=$(curl -s -H "Authorization: Bearer $T" -H 'content-type: application/json' \\
      -d '{"username":"alice"}' ${u}/api/v1/admin/users | sed -E 's/.*"id":"([^"]+)".*/\\1/')
  curl -s -H "Authorization: Bearer $T" -H 'content-type: application/json' \\
      -d '{"modelId":"${DEMO_MODEL}"}' ${u}/api/v1/admin/users/$U/subscriptions
  curl -s -H "Authorization: Bearer $T" -H 'content-type: application/json' \\
      -d '{"name":"my-app","models":["${DEMO_MODEL}"]}' ${u}/api/v1/admin/users/$U/api-keys
Then call the gateway with the returned key:
  curl ${u}/v1/chat/completions -H "Authorization: Bearer sk-…" -H 'content-type: application/json' \\
      -d '{"model":"${DEMO_MODEL}","messages":[{"role":"user","content":"Hello!"}]}'
`);
}
