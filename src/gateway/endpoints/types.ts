/**
 * @module What an endpoint declares (one module per API in this folder):
 * its paths, where it goes upstream, which model kinds it accepts, how its
 * body is validated and bounded, how usage and delivered output are read from
 * its answers and stream events, and where the model name sits in them. The
 * gateway's request, relay, metering and admission code reads only this.
 */
import type { ModelKind } from '../../store/schema.js';
import type { Usage } from '../../ledger/meter.js';

export type EndpointName =
  | 'chat' | 'completions' | 'embeddings' | 'responses' | 'messages' | 'count_tokens'
  | 'rerank' | 'score' | 'transcriptions' | 'translations' | 'tokenize' | 'detokenize';

/** What an endpoint's `parse` learns from a body, beyond `model` and `stream`. */
export interface Shape {
  /** The client asked for usage in the stream (OpenAI's stream_options.include_usage). */
  includeUsage?: boolean;
  /** Output tokens asked for per sequence (the larger of the API's max fields), or null. */
  maxTokens?: number | null;
  /** Sequences the upstream may generate: max(n, best_of) for each prompt. */
  choices?: number;
  /** Inputs the upstream reads, each up to the context length (prompt lists, documents). */
  prompts?: number;
  /** Audio duration at most, in ms (audio endpoints). */
  audioMs?: number;
  /** Audio duration as the gateway measured it (a WAV header), when it could. */
  audioMeasuredMs?: number | null;
  /** The stored response this one continues (Responses API). */
  previousResponseId?: string;
}

/** A validated client request: compiled before any I/O, immutable. */
export interface ClientRequest {
  readonly endpoint: Endpoint;
  readonly model: string;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly maxTokens: number | null;
  readonly choices: number;
  readonly prompts: number;
  /** An upper bound on prompt tokens (one per body byte), for reservations. */
  readonly promptBound: number;
  /** A rough guess of prompt tokens (characters / 4), for billing when the upstream never reported usage. */
  readonly promptGuess: number;
  readonly audioMs: number | null;
  readonly audioMeasuredMs: number | null;
  readonly previousResponseId: string | null;
  /** The JSON body, or the multipart form's fields (files as FilePart). */
  readonly body: Readonly<Record<string, unknown>>;
}

/** What a request may use at most, once its model is known. */
export interface Bounds {
  readonly prompt: number;
  /** Completion tokens at most, over all sequences. */
  readonly completion: number;
  /** Audio at most, in ms. */
  readonly audioMs: number;
  /** A per-sequence output bound the gateway sends upstream, because neither the client nor the model's context length bounds it. */
  readonly injectMaxTokens: number | null;
}

/** A body for one deployment. */
export interface UpstreamBody { body: string | Buffer; contentType: string }

export interface Endpoint {
  readonly name: EndpointName;
  /** The client-facing paths (POST). */
  readonly paths: readonly string[];
  /** Under the deployment's base URL (which ends in /v1), or under its server root when `atRoot`. */
  readonly upstreamPath: string;
  readonly atRoot?: boolean;
  readonly kinds: readonly ModelKind[];
  /** The error format its clients read. */
  readonly errors: 'openai' | 'anthropic';
  readonly body: 'json' | 'multipart';
  /** Counted as a request, never billed (tokenize, count_tokens). */
  readonly free?: boolean;
  /** Whether it generates output tokens; when false the completion bound is 0. */
  readonly generates: boolean;
  /** The field that bounds output per sequence, which the gateway sets when nothing else bounds it. */
  readonly maxTokensField: string | null;
  /** Whether it streams at all. */
  readonly streams: boolean;
  /** Validates what is specific to this API; throws a GatewayError naming the field. Only a multipart endpoint may answer asynchronously (it reads a file). */
  parse(body: Record<string, unknown>, stream: boolean): Shape | Promise<Shape>;
  /** What the request may use at most, when the generic rule (prompt bytes, output per sequence) does not fit. */
  bounds?(r: ClientRequest, contextLength: number | null): Bounds;
  /** The body sent to one deployment. */
  upstream(r: ClientRequest, upstreamModel: string, bounds: Bounds): UpstreamBody;
  /** Usage in a whole (non-streamed) answer. */
  usage(body: Record<string, unknown>, r: ClientRequest): Usage | null;
  /** Usage after one stream event, given what was known before it. */
  streamUsage(event: Record<string, unknown>, before: Usage | null, r: ClientRequest): Usage | null;
  /** The usage to bill once the answer ended, from what was read (audio adds the duration it measured, or its bound as an estimate). */
  settle?(usage: Usage | null, r: ClientRequest): { usage: Usage | null; estimated: boolean };
  /** Characters of generated output in an answer or one stream event (for an estimate when usage never comes). */
  output(o: Record<string, unknown>): number;
  /** Where the model name sits in answers and events (each a path of keys), renamed to the public id. */
  readonly modelAt: readonly (readonly string[])[];
  /** The stream's own end sentinel (`data: [DONE]`), held until the usage is journaled. */
  readonly doneSentinel: boolean;
  /** Events that end the answer (held until the usage is journaled), by their `type`. */
  readonly terminalEvents?: ReadonlySet<string>;
  /** The upstream is asked for usage the client may not have asked for (OpenAI's include_usage): hide it unless asked. */
  readonly hidesUsage: boolean;
  /** The id of a created object to remember (Responses), from an answer or a stream event. */
  createdId?(o: Record<string, unknown>): string | null;
}
