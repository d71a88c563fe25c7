/**
 * The application backend of the connect-proxy storm (bench/storm-proxy.mjs): a minimal
 * `node:http` server, in its own process, that answers every request at once with
 * `200 {"result":{"user":"p<n>"}}` (n counts the requests, so each connection gets its own user).
 * It reads each request body to the end (keep-alive needs it) and parses nothing, so its CPU is
 * about the least an HTTP/1.1 backend can spend per call. Idle keep-alive connections are kept
 * 120 s (Node's default is 5 s): Rotor's undici pool keeps them 60 s, and a pause between storms
 * must not close them under it.
 *
 *   node bench/lib/proxy-backend.mjs --port P
 *
 * `startProxyBackend` spawns it pinned to a CPU and resolves once it answers.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnPinned, stopProcess, waitHttp } from './proc.mjs';

const SELF = fileURLToPath(import.meta.url);

/**
 * @param {{cpu:number, quiet?:boolean}} o
 * @returns {Promise<{pid:number, port:number, url:string, child, stop():Promise<void>}>} `url`:
 *   the connect endpoint (`http://127.0.0.1:<port>/connect`)
 */
export async function startProxyBackend({ cpu, quiet = true }) {
  const port = await freePort();
  const child = spawnPinned(cpu, [process.execPath, SELF, '--port', String(port)], { quiet });
  const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`proxy backend exited early (${code}): ${child.stderrText.slice(-2000)}`))));
  exited.catch(() => {});
  try {
    await Promise.race([waitHttp(`http://127.0.0.1:${port}/health`), exited]);
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  return { pid: child.pid, port, url: `http://127.0.0.1:${port}/connect`, child, stop: () => stopProcess(child) };
}

function serve(port) {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = `{"result":{"user":"p${n++}"}}`;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.listen(port, '127.0.0.1');
  // Nothing to flush; open keep-alive connections would hold server.close() up.
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === SELF) {
  const i = process.argv.indexOf('--port');
  const port = Number(i >= 0 ? process.argv[i + 1] : NaN);
  if (!Number.isInteger(port) || port <= 0) {
    console.error('usage: node bench/lib/proxy-backend.mjs --port P');
    process.exit(2);
  }
  serve(port);
}
