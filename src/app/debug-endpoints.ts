/**
 * Profiling endpoints (`debug.enabled`, under `debug.handler_prefix`, default `/debug/pprof`), the
 * Node counterparts of the Go pprof handlers Centrifugo serves there:
 *
 * - `GET …/` — what is here, as JSON.
 * - `GET …/heap` — a V8 heap snapshot (`.heapsnapshot`, for Chrome DevTools' Memory tab). Taking
 *   it stops the process for as long as it takes (seconds for a large heap) and needs about the
 *   heap's size again in memory.
 * - `GET …/profile?seconds=N` — a CPU profile over N seconds (default 30, at most
 *   MAX_PROFILE_SECONDS; `.cpuprofile`, for DevTools' Performance tab or speedscope). The headers
 *   come when profiling starts, the body when it ends. One at a time: a second one meanwhile is
 *   answered 409.
 *
 * They are internal endpoints: served on `http_server.internal_port` when set, with no key of
 * their own, like Centrifugo's. Keep that port private.
 */
import { Session } from 'node:inspector';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getHeapSnapshot } from 'node:v8';
import type { HttpListener } from '../http/server.js';
import type { Logger } from '../util/logger.js';

export const DEFAULT_PROFILE_SECONDS = 30;
export const MAX_PROFILE_SECONDS = 300;

export function mountDebug(listener: HttpListener, prefix: string, log: Logger): void {
  const base = prefix.replace(/\/+$/, '');
  let profiling = false;
  listener.route(
    base,
    async (req: IncomingMessage, res: ServerResponse, path: string) => {
      if (req.method !== 'GET') return plain(res, 405, 'method not allowed');
      const what = path.slice(base.length).replace(/^\/+/, '');
      if (what === '') return json(res, 200, { heap: `${base}/heap`, profile: `${base}/profile?seconds=${DEFAULT_PROFILE_SECONDS}` });
      if (what === 'heap') return heap(res, log);
      if (what !== 'profile') return plain(res, 404, '404 page not found');
      const raw = new URL(req.url ?? '/', 'http://localhost').searchParams.get('seconds');
      const seconds = raw === null ? DEFAULT_PROFILE_SECONDS : Number(raw);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PROFILE_SECONDS) {
        return plain(res, 400, `seconds must be an integer from 1 to ${MAX_PROFILE_SECONDS}`);
      }
      if (profiling) return plain(res, 409, 'a CPU profile is already being taken');
      profiling = true;
      try {
        await cpuProfile(res, seconds, log);
      } finally {
        profiling = false;
      }
    },
    true,
  );
}

function heap(res: ServerResponse, log: Logger): void {
  log.info({}, 'debug: taking a heap snapshot');
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Disposition': `attachment; filename="rotor-${Date.now()}.heapsnapshot"` });
  const snapshot = getHeapSnapshot();
  snapshot.on('error', (err) => {
    log.error({ err }, 'debug: heap snapshot failed');
    res.destroy();
  });
  snapshot.pipe(res);
}

async function cpuProfile(res: ServerResponse, seconds: number, log: Logger): Promise<void> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
  // A client that goes away ends the wait early; the profile is still stopped and dropped.
  let gone = false;
  const wait = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, seconds * 1000);
    res.once('close', () => {
      gone = true;
      clearTimeout(timer);
      resolve();
    });
  });
  try {
    await post('Profiler.enable');
    await post('Profiler.start');
    log.info({ seconds }, 'debug: CPU profile started');
    // Headers now, so the caller knows the profile runs; the body when it is done.
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Disposition': `attachment; filename="rotor-${Date.now()}.cpuprofile"` });
    res.flushHeaders();
    await wait;
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    if (!gone) res.end(JSON.stringify(profile));
  } catch (err) {
    log.error({ err }, 'debug: CPU profile failed');
    if (!res.headersSent) plain(res, 500, 'CPU profile failed');
    else res.destroy();
  } finally {
    session.disconnect();
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain' });
  res.end(`${text}\n`);
}
