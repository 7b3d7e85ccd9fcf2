/**
 * @module The usage examples shown for a key, ready to paste: for each API the gateway serves a
 * model of the chosen kind on, a curl command, a Python program and a Node program. Chat models get
 * Chat Completions, the Responses API and the Anthropic Messages API; the others get their one API.
 * Pure functions of (gateway URL, model, key text), so they are tested without a browser.
 */
import type { ModelKind } from './types';

export type Language = 'curl' | 'python' | 'node';
export type ApiName = 'chat' | 'responses' | 'anthropic' | 'completions' | 'embeddings' | 'rerank' | 'transcriptions';

export interface ExampleInput {
  /** The gateway's OpenAI base URL, `<origin>/v1`. */
  gatewayUrl: string;
  model: string;
  /** The full key, or a masked stand-in until the person reveals it. */
  key: string;
}

interface Api {
  title: string;
  languages: Record<Language, { title: string; build: (input: ExampleInput) => string }>;
}

const q = (s: string) => JSON.stringify(s);
const trim = (url: string) => url.replace(/\/+$/, '');
/** The Anthropic SDK appends `/v1/messages` itself: it wants the origin. */
export const anthropicBaseUrl = (gatewayUrl: string) => trim(gatewayUrl).replace(/\/v1$/, '');

function curl(url: string, headers: string[], body: string[]): string {
  return [`curl ${url} \\`, ...headers.map((h) => `  -H "${h}" \\`), ...body.map((b, i) => `  ${b}${i < body.length - 1 ? ' \\' : ''}`)].join('\n');
}
const jsonCurl = (i: ExampleInput, path: string, body: string) =>
  curl(`${trim(i.gatewayUrl)}${path}`, [`Authorization: Bearer ${i.key}`, 'Content-Type: application/json'], [`-d '${body}'`]);

function openaiPython(i: ExampleInput, call: string[]): string {
  return ['from openai import OpenAI', '', 'client = OpenAI(', `    base_url=${q(trim(i.gatewayUrl))},`, `    api_key=${q(i.key)},`, ')', '', ...call].join('\n');
}
function openaiNode(i: ExampleInput, call: string[], imports: string[] = []): string {
  return [...imports, "import OpenAI from 'openai';", '', 'const client = new OpenAI({', `  baseURL: ${q(trim(i.gatewayUrl))},`, `  apiKey: ${q(i.key)},`, '});', '', ...call].join('\n');
}

const HELLO = 'Hello!';
const QUERY = 'What is the capital of France?';
const DOCUMENTS = ['Paris is the capital of France.', 'Berlin is the capital of Germany.'];

export const apis: Record<ApiName, Api> = {
  chat: {
    title: 'Chat Completions',
    languages: {
      curl: { title: 'curl', build: (i) => jsonCurl(i, '/chat/completions', `{"model": ${q(i.model)}, "messages": [{"role": "user", "content": ${q(HELLO)}}]}`) },
      python: {
        title: 'OpenAI Python',
        build: (i) => openaiPython(i, ['response = client.chat.completions.create(', `    model=${q(i.model)},`, `    messages=[{"role": "user", "content": ${q(HELLO)}}],`, ')', 'print(response.choices[0].message.content)']),
      },
      node: {
        title: 'OpenAI Node',
        build: (i) => openaiNode(i, ['const response = await client.chat.completions.create({', `  model: ${q(i.model)},`, `  messages: [{ role: 'user', content: ${q(HELLO)} }],`, '});', 'console.log(response.choices[0].message.content);']),
      },
    },
  },
  responses: {
    title: 'Responses API',
    languages: {
      curl: { title: 'curl', build: (i) => jsonCurl(i, '/responses', `{"model": ${q(i.model)}, "input": ${q(HELLO)}}`) },
      python: {
        title: 'OpenAI Python',
        build: (i) => openaiPython(i, ['response = client.responses.create(', `    model=${q(i.model)},`, `    input=${q(HELLO)},`, ')', 'print(response.output_text)']),
      },
      node: {
        title: 'OpenAI Node',
        build: (i) => openaiNode(i, ['const response = await client.responses.create({', `  model: ${q(i.model)},`, `  input: ${q(HELLO)},`, '});', 'console.log(response.output_text);']),
      },
    },
  },
  anthropic: {
    title: 'Anthropic Messages',
    languages: {
      curl: {
        title: 'curl',
        build: (i) =>
          curl(`${trim(i.gatewayUrl)}/messages`, [`x-api-key: ${i.key}`, 'anthropic-version: 2023-06-01', 'content-type: application/json'], [
            `-d '{"model": ${q(i.model)}, "max_tokens": 1024, "messages": [{"role": "user", "content": ${q(HELLO)}}]}'`,
          ]),
      },
      python: {
        title: 'Anthropic Python',
        build: (i) =>
          [
            'import anthropic',
            '',
            'client = anthropic.Anthropic(',
            `    base_url=${q(anthropicBaseUrl(i.gatewayUrl))},`,
            `    api_key=${q(i.key)},`,
            ')',
            '',
            'message = client.messages.create(',
            `    model=${q(i.model)},`,
            '    max_tokens=1024,',
            `    messages=[{"role": "user", "content": ${q(HELLO)}}],`,
            ')',
            'print(message.content[0].text)',
          ].join('\n'),
      },
      node: {
        title: 'Anthropic Node',
        build: (i) =>
          [
            "import Anthropic from '@anthropic-ai/sdk';",
            '',
            'const client = new Anthropic({',
            `  baseURL: ${q(anthropicBaseUrl(i.gatewayUrl))},`,
            `  apiKey: ${q(i.key)},`,
            '});',
            '',
            'const message = await client.messages.create({',
            `  model: ${q(i.model)},`,
            '  max_tokens: 1024,',
            `  messages: [{ role: 'user', content: ${q(HELLO)} }],`,
            '});',
            'console.log(message.content[0].text);',
          ].join('\n'),
      },
    },
  },
  completions: {
    title: 'Completions',
    languages: {
      curl: { title: 'curl', build: (i) => jsonCurl(i, '/completions', `{"model": ${q(i.model)}, "prompt": "Once upon a time", "max_tokens": 32}`) },
      python: {
        title: 'OpenAI Python',
        build: (i) => openaiPython(i, ['response = client.completions.create(', `    model=${q(i.model)},`, '    prompt="Once upon a time",', '    max_tokens=32,', ')', 'print(response.choices[0].text)']),
      },
      node: {
        title: 'OpenAI Node',
        build: (i) => openaiNode(i, ['const response = await client.completions.create({', `  model: ${q(i.model)},`, "  prompt: 'Once upon a time',", '  max_tokens: 32,', '});', 'console.log(response.choices[0].text);']),
      },
    },
  },
  embeddings: {
    title: 'Embeddings',
    languages: {
      curl: { title: 'curl', build: (i) => jsonCurl(i, '/embeddings', `{"model": ${q(i.model)}, "input": ${q(HELLO)}}`) },
      python: {
        title: 'OpenAI Python',
        build: (i) => openaiPython(i, ['response = client.embeddings.create(', `    model=${q(i.model)},`, `    input=${q(HELLO)},`, ')', 'print(len(response.data[0].embedding))']),
      },
      node: {
        title: 'OpenAI Node',
        build: (i) => openaiNode(i, ['const response = await client.embeddings.create({', `  model: ${q(i.model)},`, `  input: ${q(HELLO)},`, '});', 'console.log(response.data[0].embedding.length);']),
      },
    },
  },
  rerank: {
    title: 'Rerank',
    languages: {
      curl: { title: 'curl', build: (i) => jsonCurl(i, '/rerank', `{"model": ${q(i.model)}, "query": ${q(QUERY)}, "documents": [${DOCUMENTS.map(q).join(', ')}]}`) },
      python: {
        title: 'Python (requests)',
        build: (i) =>
          [
            'import requests',
            '',
            'response = requests.post(',
            `    ${q(`${trim(i.gatewayUrl)}/rerank`)},`,
            `    headers={"Authorization": ${q(`Bearer ${i.key}`)}},`,
            '    json={',
            `        "model": ${q(i.model)},`,
            `        "query": ${q(QUERY)},`,
            `        "documents": [${DOCUMENTS.map(q).join(', ')}],`,
            '    },',
            ')',
            'response.raise_for_status()',
            'for result in response.json()["results"]:',
            '    print(result["index"], result["relevance_score"])',
          ].join('\n'),
      },
      node: {
        title: 'Node (fetch)',
        build: (i) =>
          [
            `const response = await fetch(${q(`${trim(i.gatewayUrl)}/rerank`)}, {`,
            "  method: 'POST',",
            `  headers: { Authorization: ${q(`Bearer ${i.key}`)}, 'Content-Type': 'application/json' },`,
            '  body: JSON.stringify({',
            `    model: ${q(i.model)},`,
            `    query: ${q(QUERY)},`,
            `    documents: [${DOCUMENTS.map(q).join(', ')}],`,
            '  }),',
            '});',
            'const { results } = await response.json();',
            'for (const result of results) console.log(result.index, result.relevance_score);',
          ].join('\n'),
      },
    },
  },
  transcriptions: {
    title: 'Transcription',
    languages: {
      curl: {
        title: 'curl',
        build: (i) => curl(`${trim(i.gatewayUrl)}/audio/transcriptions`, [`Authorization: Bearer ${i.key}`], ['-F file=@audio.wav', `-F "model=${i.model}"`]),
      },
      python: {
        title: 'OpenAI Python',
        build: (i) =>
          openaiPython(i, ['with open("audio.wav", "rb") as audio:', '    transcription = client.audio.transcriptions.create(', `        model=${q(i.model)},`, '        file=audio,', '    )', 'print(transcription.text)']),
      },
      node: {
        title: 'OpenAI Node',
        build: (i) =>
          openaiNode(
            i,
            ['const transcription = await client.audio.transcriptions.create({', `  model: ${q(i.model)},`, "  file: fs.createReadStream('audio.wav'),", '});', 'console.log(transcription.text);'],
            ["import fs from 'node:fs';"],
          ),
      },
    },
  },
};

/** The APIs a model of this kind is called on, the usual one first. */
export function apisFor(kind: ModelKind): ApiName[] {
  switch (kind) {
    case 'chat': return ['chat', 'responses', 'anthropic'];
    case 'completion': return ['completions'];
    case 'embedding': return ['embeddings'];
    case 'rerank': return ['rerank'];
    case 'audio': return ['transcriptions'];
  }
}

export const languages: Language[] = ['curl', 'python', 'node'];

export function buildExample(api: ApiName, language: Language, input: ExampleInput): string {
  return apis[api].languages[language].build(input);
}
