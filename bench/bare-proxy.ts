/**
 * @module The floor any Node gateway pays: node:http in, undici Pool out,
 * method/path/headers/body forwarded and the response streamed back. No auth,
 * no metering. Usage: node dist/bench/bare-proxy.js <port> <upstream-origin>
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [portArg, upstream] = process.argv.slice(2);
const pool = new Pool(upstream!, { connections: 256 });

createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    pool.request({ path: req.url!, method: req.method as 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(parts) })
      .then(({ statusCode, headers, body }) => {
        res.writeHead(statusCode, { 'content-type': String(headers['content-type'] ?? 'application/json') });
        body.pipe(res);
      }, () => { res.writeHead(502); res.end(); });
  });
}).listen(Number(portArg), '127.0.0.1', () => process.stdout.write('ready\n'));
