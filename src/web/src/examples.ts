/**
 * @module The usage examples shown for a key: curl, the OpenAI Python client and the OpenAI Node
 * client, all pointed at the gateway. Pure functions of (gateway URL, model, key text).
 */

export type ExampleKind = 'curl' | 'python' | 'node';

export interface ExampleInput {
  gatewayUrl: string;
  model: string;
  /** The full key, or a masked stand-in until the person reveals it. */
  key: string;
  /** Embedding models get an embeddings call instead of a chat completion. */
  isEmbedding?: boolean;
}

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

export function curlExample({ gatewayUrl, model, key, isEmbedding }: ExampleInput): string {
  const body = isEmbedding
    ? `{"model": ${JSON.stringify(model)}, "input": "Hello!"}`
    : `{"model": ${JSON.stringify(model)}, "messages": [{"role": "user", "content": "Hello!"}]}`;
  return [
    `curl ${base(gatewayUrl)}/${isEmbedding ? 'embeddings' : 'chat/completions'} \\`,
    `  -H "Authorization: Bearer ${key}" \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -d '${body}'`,
  ].join('\n');
}

export function pythonExample({ gatewayUrl, model, key, isEmbedding }: ExampleInput): string {
  const call = isEmbedding
    ? [`response = client.embeddings.create(`, `    model=${JSON.stringify(model)},`, `    input="Hello!",`, `)`, `print(len(response.data[0].embedding))`]
    : [
        `response = client.chat.completions.create(`,
        `    model=${JSON.stringify(model)},`,
        `    messages=[{"role": "user", "content": "Hello!"}],`,
        `)`,
        `print(response.choices[0].message.content)`,
      ];
  return [
    'from openai import OpenAI',
    '',
    'client = OpenAI(',
    `    base_url=${JSON.stringify(base(gatewayUrl))},`,
    `    api_key=${JSON.stringify(key)},`,
    ')',
    '',
    ...call,
  ].join('\n');
}

export function nodeExample({ gatewayUrl, model, key, isEmbedding }: ExampleInput): string {
  const call = isEmbedding
    ? [`const response = await client.embeddings.create({`, `  model: ${JSON.stringify(model)},`, `  input: 'Hello!',`, `});`, `console.log(response.data[0].embedding.length);`]
    : [
        `const response = await client.chat.completions.create({`,
        `  model: ${JSON.stringify(model)},`,
        `  messages: [{ role: 'user', content: 'Hello!' }],`,
        `});`,
        `console.log(response.choices[0].message.content);`,
      ];
  return [
    "import OpenAI from 'openai';",
    '',
    'const client = new OpenAI({',
    `  baseURL: ${JSON.stringify(base(gatewayUrl))},`,
    `  apiKey: ${JSON.stringify(key)},`,
    '});',
    '',
    ...call,
  ].join('\n');
}

export const examples: Record<ExampleKind, { title: string; build: (input: ExampleInput) => string }> = {
  curl: { title: 'curl', build: curlExample },
  python: { title: 'OpenAI Python', build: pythonExample },
  node: { title: 'OpenAI Node', build: nodeExample },
};
