/**
 * @module `litemaas keys create`: an application key created through the admin API of a running
 * server (bearer LITEMAAS_ADMIN_TOKEN), printed as JSON or as a Kubernetes Secret manifest
 * (`stringData.api_token`) ready to pipe into `kubeseal` — the workshop's "keep Canopy's key out
 * of git" step. The key goes to stdout only; nothing else is written.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';

const USAGE = `Usage: litemaas keys create --user <username|id> --name <key name> --models <id,id…>
         [--description <text>] [--max-budget <amount>] [--budget-period daily|weekly|monthly|none]
         [--url http://localhost:8080] [--output json|k8s-secret] [--namespace <ns>] [--secret-name <name>]

Creates an API key for the user through the admin API at --url (LITEMAAS_ADMIN_TOKEN in the
environment) and prints it: --output json (default) or k8s-secret, a Secret whose key api_token
holds it (default name: <key name>-api-token), e.g.
  litemaas keys create --user admin --name canopy-experiments --models Llama-3.2-3B-Instruct-FP8 \\
    --output k8s-secret --namespace canopy-test --secret-name canopy-api-token | kubeseal -o yaml
`;

class UsageError extends Error {}

export async function keysCommand(argv: string[], env: NodeJS.ProcessEnv = process.env, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'create') {
    process.stderr.write(sub === undefined || sub === '--help' || sub === 'help' ? USAGE : `litemaas keys: unknown subcommand '${sub}'\n\n${USAGE}`);
    if (sub !== undefined && sub !== '--help' && sub !== 'help') process.exitCode = 2;
    return;
  }
  try {
    await create(rest, env, out);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`litemaas keys create: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
  }
}

async function create(argv: string[], env: NodeJS.ProcessEnv, out: (s: string) => void): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true,
      options: {
        user: { type: 'string' }, name: { type: 'string' }, models: { type: 'string' }, description: { type: 'string' },
        'max-budget': { type: 'string' }, 'budget-period': { type: 'string' }, url: { type: 'string' },
        output: { type: 'string' }, namespace: { type: 'string' }, 'secret-name': { type: 'string' },
      },
    }));
  } catch (err) { throw new UsageError((err as Error).message); }
  for (const f of ['user', 'name', 'models'] as const) if (!values[f]) throw new UsageError(`--${f} is required`);
  const output = values.output ?? 'json';
  if (output !== 'json' && output !== 'k8s-secret') throw new UsageError(`--output must be json or k8s-secret, not '${output}'`);
  const token = env.LITEMAAS_ADMIN_TOKEN;
  if (!token) throw new UsageError('LITEMAAS_ADMIN_TOKEN must be set (the admin API token of the server at --url)');
  const base = (values.url ?? 'http://localhost:8080').replace(/\/+$/, '');

  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    let res: Response;
    try {
      res = await fetch(`${base}/api/v1${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) { throw new Error(`cannot reach ${base}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`); }
    const text = await res.text();
    let json: any = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    if (res.status === 401 || res.status === 403) throw new Error(`${base} refused LITEMAAS_ADMIN_TOKEN (HTTP ${res.status})`);
    return { status: res.status, json };
  };

  // --user: an id, else a username.
  const who = values.user!;
  let userId: string | undefined;
  const byId = await api('GET', `/admin/users/${encodeURIComponent(who)}`);
  if (byId.status === 200) userId = byId.json.id;
  else {
    const list = await api('GET', '/admin/users');
    userId = (list.json?.users as Array<{ id: string; username: string }> | undefined)?.find((u) => u.username === who)?.id;
  }
  if (!userId) throw new Error(`no user '${who}' at ${base}`);

  const body: Record<string, unknown> = { name: values.name, models: values.models!.split(',').map((m) => m.trim()).filter(Boolean) };
  if (values.description) body.description = values.description;
  if (values['max-budget']) body.maxBudget = Number(values['max-budget']);
  if (values['budget-period']) body.budgetPeriod = values['budget-period'];
  const made = await api('POST', `/admin/users/${encodeURIComponent(userId)}/api-keys`, body);
  if (made.status !== 201 || typeof made.json?.key !== 'string') {
    const e = made.json?.error;
    throw new Error(`the key was not created (HTTP ${made.status}${e?.message ? `: ${e.message}` : ''}${e?.field ? ` [${e.field}]` : ''})`);
  }
  if (output === 'json') {
    out(JSON.stringify({ id: made.json.id, name: values.name, key: made.json.key, endpoint: `${base}/v1` }, null, 2) + '\n');
    return;
  }
  const name = values['secret-name'] ?? `${values.name}-api-token`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 253);
  const secret = {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name, ...(values.namespace ? { namespace: values.namespace } : {}), labels: { 'app.kubernetes.io/part-of': 'litemaas' }, annotations: { 'litemaas.io/key-id': made.json.id, 'litemaas.io/key-name': values.name } },
    type: 'Opaque',
    stringData: { api_token: made.json.key },
  };
  out(stringify(secret));
}
