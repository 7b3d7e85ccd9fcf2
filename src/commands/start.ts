/**
 * @module `litemaas start` (npm start): the simulator serving `llama32-fp8`
 * and LiteMaaS on embedded defaults with the demo model registered through
 * the same service the admin API uses. A second start reuses what exists.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { randomToken } from '../config.js';
import { startSimulator } from '../simulator/server.js';
import { startServer } from '../server.js';
import { onShutdown } from './serve.js';

export const DEMO_MODEL = 'Llama-3.2-3B-Instruct-FP8';
export const DEMO_UPSTREAM = 'llama32-fp8';

function adminToken(cfg: Config): string {
  if (cfg.adminToken) return cfg.adminToken;
  const file = join(cfg.dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(cfg.dataDir, { recursive: true });
  const t = randomToken();
  writeFileSync(file, t + '\n', { mode: 0o600 });
  return t;
}

export async function startCommand(cfg: Config): Promise<void> {
  const simPort = Number(process.env.SIM_PORT ?? 8000);
  const sim = await startSimulator({ port: simPort, host: '127.0.0.1', servedModelName: DEMO_UPSTREAM, quiet: true });
  const token = adminToken(cfg);
  const running = await startServer({ ...cfg, adminToken: token });
  const models = running.services.models;
  const existing = await models.get(DEMO_MODEL).catch(() => null);
  const deployments = [{ url: `${sim.url}/v1`, upstreamModel: DEMO_UPSTREAM }];
  if (!existing) {
    await models.create({
      id: DEMO_MODEL, description: 'Llama 3.2 3B Instruct, FP8 (served by the built-in simulator)', provider: 'vllm',
      kind: 'chat', contextLength: 8192, features: ['chat', 'streaming'], inputPricePer1M: '0.15', outputPricePer1M: '0.60',
      deployments,
    });
  } else if (existing.deployments?.length !== 1 || existing.deployments[0]!.url !== deployments[0]!.url) {
    // This start owns the simulator: point the demo model at it (its port may have changed), keep the rest.
    const { id: _id, createdAt: _c, deployments: _d, ...rest } = existing;
    await models.update(DEMO_MODEL, { ...rest, deployments });
  }
  const admin = await running.services.users.ensureAdmin(cfg.adminPassword, () => randomToken(12));
  await running.gateway.reload();
  onShutdown(async () => { await running.close(); await sim.close(); });
  const u = running.url;
  process.stdout.write(`
LiteMaaS is running (store: ${running.store.kind}, data: ${cfg.dataDir})
  simulator  ${sim.url}/v1   (serves ${DEMO_UPSTREAM})
  LiteMaaS   ${u}            (portal ${u}/, gateway ${u}/v1, API ${u}/api/v1, docs ${u}/docs)
  model      ${DEMO_MODEL}

Sign in at ${u}/ as admin with ${admin.password ? `the password ${admin.password}  (shown once: note it; set LITEMAAS_ADMIN_PASSWORD to choose it)` : cfg.adminPassword ? '$LITEMAAS_ADMIN_PASSWORD' : 'the password printed at the first start'}.

Provision a user and a key (admin token: ${cfg.adminToken ? '$LITEMAAS_ADMIN_TOKEN' : `stored in ${join(cfg.dataDir, 'admin-token')}`}):
  export T=${cfg.adminToken ? '$LITEMAAS_ADMIN_TOKEN' : `$(cat ${join(cfg.dataDir, 'admin-token')})`}
  U=$(curl -s -H "Authorization: Bearer $T" -H 'content-type: application/json' \\
      -d '{"username":"alice"}' ${u}/api/v1/admin/users | sed -E 's/.*"id":"([^"]+)".*/\\1/')
  curl -s -H "Authorization: Bearer $T" -H 'content-type: application/json' \\
      -d '{"modelId":"${DEMO_MODEL}"}' ${u}/api/v1/admin/users/$U/subscriptions
  curl -s -H "Authorization: Bearer $T" -H 'content-type: application/json' \\
      -d '{"name":"canopy-experiments","models":["${DEMO_MODEL}"]}' ${u}/api/v1/admin/users/$U/api-keys
Then call the gateway with the returned key:
  curl ${u}/v1/chat/completions -H "Authorization: Bearer sk-…" -H 'content-type: application/json' \\
      -d '{"model":"${DEMO_MODEL}","messages":[{"role":"user","content":"Hello!"}]}'
`);
}
