#!/usr/bin/env node
/**
 * @module `litemaas <command>`: serve, sim, migrate, start (the whole demo on
 * embedded defaults). Each role can run alone, as in production.
 */
import { loadConfig } from './config.js';

const HELP = `litemaas — Models-as-a-Service: OpenAI-compatible gateway, portal and ledger

Usage: litemaas <command> [options]

Commands:
  start      the whole demo on embedded defaults: simulator → LiteMaaS → stack → Canopy (what npm start runs)
  serve      the LiteMaaS server: /v1 gateway, portal UI at /, /api/v1 API on PORT (default 8080)
  stack      the Llama-Stack-compatible router: litemaas stack --config stack.yaml (port 8321)
  canopy     the Canopy app (backend + UI): litemaas canopy --config canopy.yaml (port 8501)
  sim        the OpenAI/vLLM-compatible simulator (litemaas sim --help)
  migrate    apply database migrations and exit
  keys       keys create: an API key through the admin API, as JSON or a Kubernetes Secret (litemaas keys --help)
  help       this text

Environment (serve, start, migrate):
  PORT                    listen port (8080)
  HOST                    listen address: serve, stack and canopy 0.0.0.0 (containers); start 127.0.0.1 (a demo on this machine)
  LITEMAAS_DATA_DIR       embedded database, journal and secret (./data)
  DATABASE_URL            PostgreSQL URL; embedded PGlite when unset
  LITEMAAS_ADMIN_TOKEN    bearer token for the admin API (start generates one into the data dir)
  LITEMAAS_SECRET         encryption key for stored keys and tokens (generated into the data dir when unset)
  LOG_LEVEL               pino level (info)

Environment (stack): STACK_CONFIG_PATH (stack.yaml), STACK_PORT (8321), API_TOKEN (token of models without one)
Environment (canopy): CANOPY_CONFIG_PATH (canopy.yaml), CANOPY_PORT (8501), CANOPY_DATA_DIR (./data/canopy), LLAMA_STACK_URL (overrides the file)
`;

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'serve': {
      const { serveCommand } = await import('./commands/serve.js');
      await serveCommand(loadConfig());
      return;
    }
    case 'start': {
      const { startCommand } = await import('./commands/start.js');
      return startCommand(loadConfig());
    }
    case 'stack': {
      const { stackCommand } = await import('./commands/roles.js');
      await stackCommand(rest);
      return;
    }
    case 'canopy': {
      const { canopyCommand } = await import('./commands/roles.js');
      await canopyCommand(rest);
      return;
    }
    case 'sim': {
      const { simCommand } = await import('./simulator/cli.js');
      return simCommand(rest);
    }
    case 'migrate': {
      const { migrateCommand } = await import('./commands/migrate.js');
      return migrateCommand(loadConfig());
    }
    case 'keys': {
      const { keysCommand } = await import('./commands/keys.js');
      return keysCommand(rest);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return;
    default:
      process.stderr.write(`litemaas: unknown command '${cmd}'\n\n${HELP}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`litemaas: ${(err as Error).message}\n`);
  process.exit(1);
});
