/**
 * @module Canopy's backend (DESIGN §8): feature flags from the YAML config,
 * streaming summarisation (one-shot, chat, A/B) and the Socratic tutor as
 * SSE lines `data: {"delta": …}` / `data: {"error": …}` / `data: [DONE]`,
 * feedback with a YAML export, and the web UI at `/`.
 */
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CanopyConfig, ModelFeature } from './config.js';
import { LlamaStackClient, type ChatMessage } from './llm.js';
import { FeedbackStore } from './feedback.js';
import { builtUi, serveUi } from '../shared/web-ui.js';
import { validationProblem } from '../shared/validation.js';

export interface CanopyOptions { port: number; host: string; dataDir: string; logLevel?: string }
export interface RunningCanopy {
  url: string;
  app: FastifyInstance;
  /** What is wrong between the config and the stack's model list (empty when all is well). */
  checkModels(): Promise<string[]>;
  close(): Promise<void>;
}

const Text = Type.String({ minLength: 1, maxLength: 200_000 });
const Messages = Type.Array(Type.Object({ role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]), content: Text }, { additionalProperties: false }), { minItems: 1, maxItems: 200 });

/** An SSE response on the raw socket; `send` is a no-op once the client has gone. */
function sse(reply: FastifyReply): { send(obj: unknown): void; end(): void; signal: AbortSignal } {
  const res: ServerResponse = reply.raw;
  const ac = new AbortController();
  reply.hijack();
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.flushHeaders();
  res.on('close', () => { if (!res.writableFinished) ac.abort(); });
  return {
    send: (obj) => { if (!ac.signal.aborted) res.write(`data: ${JSON.stringify(obj)}\n\n`); },
    end: () => { if (!ac.signal.aborted) res.end('data: [DONE]\n\n'); },
    signal: ac.signal,
  };
}

export async function startCanopy(cfg: CanopyConfig, o: CanopyOptions): Promise<RunningCanopy> {
  const llm = new LlamaStackClient(cfg.llamaStackUrl);
  const feedback = new FeedbackStore(join(o.dataDir, 'feedback.jsonl'));
  const app = Fastify({ logger: { level: o.logLevel ?? 'info' }, bodyLimit: 1024 * 1024 }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const invalidBody = validationProblem(err);
    if (invalidBody) return reply.code(400).send({ error: `${invalidBody.field}: ${invalidBody.problem}` });
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err: err.message }, 'unhandled error');
    return reply.code(status).send({ error: status === 500 ? 'Internal error.' : err.message });
  });

  const disabled = (name: string) => ({ error: `The ${name} feature is disabled in this Canopy's configuration (${name}.enabled: false).` });

  /** Streams one model call as delta lines, then [DONE]; failures become an error line, never a hang. */
  async function stream(reply: FastifyReply, f: ModelFeature, system: string, messages: ChatMessage[], variant?: 'a' | 'b', out = sse(reply), finish = true) {
    try {
      await llm.chat({ model: f.model, messages: [{ role: 'system', content: system }, ...messages], maxTokens: f.maxTokens, temperature: f.temperature },
        { delta: (t) => out.send(variant ? { variant, delta: t } : { delta: t }) }, out.signal);
    } catch (err) {
      if (!out.signal.aborted) out.send(variant ? { variant, error: (err as Error).message } : { error: (err as Error).message });
    }
    if (finish) out.end();
  }

  app.get('/feature-flags', async () => ({
    summarize: cfg.summarize.enabled, 'socratic-tutor': cfg.socraticTutor.enabled,
    // Listed by the workshop's Canopy; not served by this one, so the UI shows them as "coming soon".
    'information-search': false, 'student-assistant': false,
    feedback: cfg.feedback, ab_testing: cfg.abTesting && cfg.summarize.enabled,
  }));
  app.get('/info', async () => ({
    llamaStackUrl: cfg.llamaStackUrl,
    features: Object.fromEntries(([['summarize', cfg.summarize], ['socratic-tutor', cfg.socraticTutor]] as const)
      .filter(([, f]) => f.enabled).map(([n, f]) => [n, { model: f.model, maxTokens: f.maxTokens }])),
  }));
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.post('/summarize', { schema: { body: Type.Object({ prompt: Text }, { additionalProperties: false }) } }, async (req, reply) => {
    if (!cfg.summarize.enabled) return reply.code(404).send(disabled('summarize'));
    await stream(reply, cfg.summarize, cfg.summarize.prompt, [{ role: 'user', content: req.body.prompt }]);
  });
  app.post('/summarize/chat', { schema: { body: Type.Object({ messages: Messages }, { additionalProperties: false }) } }, async (req, reply) => {
    if (!cfg.summarize.enabled) return reply.code(404).send(disabled('summarize'));
    await stream(reply, cfg.summarize, cfg.summarize.prompt, req.body.messages);
  });
  app.post('/summarize/ab', { schema: { body: Type.Object({ prompt: Text }, { additionalProperties: false }) } }, async (req, reply) => {
    if (!cfg.summarize.enabled) return reply.code(404).send(disabled('summarize'));
    if (!cfg.abTesting || !cfg.summarize.promptB) return reply.code(404).send({ error: 'A/B testing is disabled in this Canopy\'s configuration (ab_testing.enabled: false).' });
    const out = sse(reply);
    const user: ChatMessage[] = [{ role: 'user', content: req.body.prompt }];
    await Promise.all([
      stream(reply, cfg.summarize, cfg.summarize.prompt, user, 'a', out, false),
      stream(reply, cfg.summarize, cfg.summarize.promptB, user, 'b', out, false),
    ]);
    out.end();
  });
  app.post('/socratic-tutor', {
    schema: { body: Type.Object({ messages: Type.Optional(Messages), prompt: Type.Optional(Text) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    if (!cfg.socraticTutor.enabled) return reply.code(404).send(disabled('socratic-tutor'));
    const messages = req.body.messages ?? (req.body.prompt ? [{ role: 'user' as const, content: req.body.prompt }] : null);
    if (!messages) return reply.code(400).send({ error: 'messages: is required (or prompt)' });
    await stream(reply, cfg.socraticTutor, cfg.socraticTutor.prompt, messages);
  });

  app.post('/feedback', {
    schema: {
      body: Type.Object({
        feature: Type.Union([Type.Literal('summarize'), Type.Literal('socratic-tutor')]),
        prompt: Text, response: Type.String({ maxLength: 200_000 }),
        rating: Type.Union([Type.Literal('up'), Type.Literal('down')]),
        variant: Type.Optional(Type.Union([Type.Literal('a'), Type.Literal('b'), Type.Null()])),
        comment: Type.Optional(Type.Union([Type.String({ maxLength: 4000 }), Type.Null()])),
      }, { additionalProperties: false }),
    },
  }, async (req, reply) => {
    if (!cfg.feedback) return reply.code(404).send(disabled('feedback'));
    const b = req.body;
    const f = b.feature === 'summarize' ? cfg.summarize : cfg.socraticTutor;
    const item = feedback.add({ feature: b.feature, prompt: b.prompt, response: b.response, rating: b.rating, variant: b.variant ?? null, comment: b.comment ?? null, model: f.model || null });
    return reply.code(201).send({ id: item.id });
  });
  app.get('/feedback', async (_req, reply) => (cfg.feedback ? { items: feedback.list() } : reply.code(404).send(disabled('feedback'))));
  app.get('/feedback/export', async (_req, reply) => {
    if (!cfg.feedback) return reply.code(404).send(disabled('feedback'));
    return reply.type('application/yaml; charset=utf-8').header('content-disposition', 'attachment; filename="canopy-feedback.yaml"').send(feedback.exportYaml());
  });

  const ui = builtUi('canopy-web');
  if (ui) await serveUi(app, { dir: ui, notFound: (req, reply) => reply.code(404).send({ error: `No route ${req.method} ${req.url.split('?')[0]}` }) });

  await app.listen({ port: o.port, host: o.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://127.0.0.1:${port}`, app,
    async checkModels() {
      const known: string[] = await llm.models().catch(() => []);
      if (known.length === 0) return [`Llama Stack at ${cfg.llamaStackUrl} lists no models (not started yet?); requests will fail until it does`];
      return ([['summarize', cfg.summarize], ['socratic-tutor', cfg.socraticTutor]] as const)
        .filter(([, f]) => f.enabled && !known.includes(f.model))
        .map(([n, f]) => `${n}.model '${f.model}' is not among Llama Stack's models (${known.join(', ')})`);
    },
    async close() { await app.close(); await llm.close(); },
  };
}
