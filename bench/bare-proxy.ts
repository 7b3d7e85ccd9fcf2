/**
 * @module The floor any Node gateway pays: node:http in, an undici Pool out;
 * method, path, headers and body forwarded, status, headers and body streamed
 * back. No auth, no parsing, no metering.
 * Usage: node dist/bench/bare-proxy.js <port> <upstream-origin>
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';

const [portArg, upstream] = process.argv.slice(2);
const pool = new Pool(upstream!, { connections: 128, keepAliveTimeout: 30_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host', 'content-length']);
const strip = (h: IncomingHttpHeaders | Record<string, string | string[] | undefined>) => {
  const out: Record<string, string | string[]> = {};
  for (const k in h) if (!HOP.has(k) && h[k] !== undefined) out[k] = h[k]!;
  return out;
};

createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    pool.request({ path: req.url!, method: req.method as 'POST', headers: strip(req.headers), body: hasBody ? Buffer.concat(parts) : null })
      .then(({ statusCode, headers, body }) => {
        res.writeHead(statusCode, strip(headers));
        pipeline(body, res, () => {});
      }, () => { if (!res.headersSent) res.writeHead(502); res.end(); });
  });
}).listen(Number(portArg), '127.0.0.1', () => process.stdout.write('ready\n'));
