#!/usr/bin/env node
/**
 * Load generator, written with `ws`. Runs as a child of bench/run.mjs (pinned to its own core)
 * and is driven over IPC; every command is answered with one message. Commands:
 *
 *  {cmd:'connect', target, url, urls?, protocol, protocols?, n, channels, channelPrefix, secret, concurrency}
 *     opens n connections. Rotor: connect command with a HS256 JWT (jose), then subscribe to
 *     channel `${channelPrefix}${i % channels}`. Baseline: plain upgrade + one subscribe message.
 *     socket.io (`target: 'socketio'`, url = the server's http:// origin): socket.io-client on
 *     the WebSocket transport with the JWT in `auth.token`, then the `subscribe` event (its ack),
 *     publications arriving as `pub` events (lib/socketio-client.mjs); `sioClient: 'raw'` speaks
 *     the same protocol over `ws` instead of through socket.io-client.
 *     With `protocols` (e.g. ['json','protobuf']), connection i speaks protocols[i % length].
 *     With `urls` (several servers, e.g. two nodes), connection i goes to urls[i % length].
 *     → {ev:'connected', ok, failed, ms}
 *  {cmd:'subscribeMany', url, n, perConn, channelPrefix, secret, concurrency}
 *     n Rotor connections (JSON), connection i subscribed to channels
 *     `${channelPrefix}${i * perConn + k}` for k < perConn, 100 subscribe commands in flight per
 *     connection; every channel has one subscriber, so `publish` over `channels: n * perConn`
 *     afterwards expects one delivery per publication. → {ev:'connected', ok, failed, channels, ms}
 *  {cmd:'publish', apiUrl, apiKey, rate, warmupS, measureS, channels, channelPrefix, drainMs, mirrorApiUrls?}
 *     publishes at a fixed rate through POST /api/publish, payload
 *     {"t":<publish time ms, high-res>,"s":<seq>,"m":<1 if measured>,"pad":"…"} (~100 bytes),
 *     round-robin over the channels. Warm-up first (not counted), then
 *     → {ev:'window-start'} … measured publications … all deliveries in (or drain timeout)
 *     → {ev:'window-end', stats}
 *  {cmd:'slices', apiUrl, apiKey, rate, warmupS, sliceS, slices, channelPrefix, drainMs}
 *     two channels; after a warm-up on both and an unmeasured slice on channel 0: window-start,
 *     then `slices` slices of `sliceS` seconds at `rate`, each on one channel (order 0,1,1,0,
 *     0,1,1,0, …), each bracketed by
 *     {ev:'slice', phase:'start'|'end', ch} and ending once all its deliveries are in (or drain
 *     timeout), 100 ms apart; window-end → {slices:[{ch, expected, delivered, ms}], …}
 *  {cmd:'storm', target, url, n, warmup, concurrency, echo, poll, secret, tokenless}
 *     tokens signed and frames built beforehand; → window-start … n connects over raw TCP
 *     (Rotor: upgrade + JWT connect command answered; baseline: upgrade done) → window-end
 *     {connects, connectsFailed, errors, ms}; then the storm sockets are destroyed.
 *     `tokenless`: Rotor is sent `{"connect":{"name":"bench"}}` with no token, which its connect
 *     proxy (when configured) answers for it; nothing is signed.
 *  {cmd:'autocannon', apiUrl, apiKey, channel, connections, durationS}
 *     → window-start … autocannon POST /api/publish … → window-end {autocannon summary, deliveries}
 *  {cmd:'close'} closes every connection → {ev:'closed'}
 *
 * Latency = receive time − the publish time carried in the payload, both taken in this process
 * with performance.timeOrigin + performance.now(); recorded in µs in a perf_hooks histogram.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { createHistogram, performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { decodeRepliesPb, encodeCommandPb, PB_PING } from './lib/client-proto.mjs';
import { SioConn, SioRawConn } from './lib/socketio-client.mjs';

const now = () => performance.timeOrigin + performance.now();
const send = (m) => process.send(m);

/** @type {Set<Conn>} */
const conns = new Set();
/** subscribers per channel index, for the expected-delivery count */
let subsPerChannel = [];
let subsPerGroupChannel = [];

const st = {
  hist: createHistogram(),
  /** Per server (connect's `urls`, by index), when there are several: the same latencies split. */
  groupHists: [],
  measuredRecv: 0,
  warmRecv: 0,
  otherRecv: 0,
  maxSeqSeen: -1,
  closedUnexpectedly: 0,
  closeCodes: {},
  pingsAnswered: 0,
  parseErrors: 0,
};
function resetStats() {
  st.hist = createHistogram();
  st.groupHists = [];
  st.measuredRecv = 0;
  st.warmRecv = 0;
  st.otherRecv = 0;
  st.closedUnexpectedly = 0;
  st.closeCodes = {};
  st.pingsAnswered = 0;
  st.parseErrors = 0;
}

/** `group`: the index of the server the connection is on (connect's `urls`), when there are several. */
function onPublication(data, group) {
  if (data === null || typeof data !== 'object' || typeof data.t !== 'number') {
    st.otherRecv++;
    return;
  }
  if (data.m === 1) {
    st.measuredRecv++;
    const us = Math.round((now() - data.t) * 1000);
    st.hist.record(us < 1 ? 1 : us);
    if (group !== undefined) (st.groupHists[group] ??= createHistogram()).record(us < 1 ? 1 : us);
  } else if (data.m === 0) st.warmRecv++;
  else st.otherRecv++;
}

/** What a Centrifugo v1 client connects with: user, timestamp and HMAC-SHA256(secret, user + timestamp + info). */
function v1Credentials(secret, user) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return { user, timestamp, token: createHmac('sha256', secret).update(user).update(timestamp).update('').digest('hex') };
}

async function signToken(secretKey, sub) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(secretKey);
}

class Conn {
  /**
   * @param {'rotor'|'baseline'} target
   * @param {'json'|'protobuf'} protocol
   */
  constructor(target, protocol, url) {
    this.target = target;
    this.protocol = protocol;
    /** Which server of connect's `urls` (several only), for the per-server latency. */
    this.group = undefined;
    this.pending = new Map();
    this.nextId = 1;
    this.closing = false;
    this.ws = new WebSocket(url, protocol === 'protobuf' ? ['centrifuge-protobuf'] : [], { perMessageDeflate: false });
    this.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on('error', () => {});
    this.ws.on('close', (code) => {
      conns.delete(this);
      for (const p of this.pending.values()) p.reject(new Error(`closed ${code}`));
      this.pending.clear();
      if (!this.closing) {
        st.closedUnexpectedly++;
        st.closeCodes[code] = (st.closeCodes[code] ?? 0) + 1;
      }
    });
    conns.add(this);
  }

  opened() {
    return new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('close', (code) => reject(new Error(`closed before open ${code}`)));
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade status ${res.statusCode}`)));
    });
  }

  /** A Centrifugo v1 command (`target` 'v1'): `{"uid","method","params"}`, resolved with its reply. */
  requestV1(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ uid: String(id), method, params }));
    });
  }

  /** Sends a command and resolves with its reply. `body` is e.g. {connect:{token}}. */
  request(body) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.target === 'rotor' && this.protocol === 'protobuf') this.ws.send(encodeCommandPb({ id, ...body }));
      else this.ws.send(JSON.stringify({ id, ...body }));
    });
  }

  onReply(r) {
    const p = this.pending.get(r.id);
    if (p === undefined) return;
    this.pending.delete(r.id);
    if (r.error) p.reject(new Error(`error ${r.error.code} ${r.error.message}`));
    else p.resolve(r);
  }

  onMessage(data, isBinary) {
    if (isBinary) {
      decodeRepliesPb(data, (r) => {
        if (r === null) {
          this.ws.send(PB_PING);
          st.pingsAnswered++;
        } else if (r.push) {
          if (r.push.pub) {
            let d;
            try {
              d = JSON.parse(Buffer.from(r.push.pub.data).toString('utf8'));
            } catch {
              st.parseErrors++;
              return;
            }
            onPublication(d, this.group);
          }
        } else this.onReply(r);
      });
      return;
    }
    const text = data.toString('utf8');
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const line = nl < 0 ? text.slice(start) : text.slice(start, nl);
      if (line.length > 0) this.onJson(line);
      if (nl < 0) break;
      start = nl + 1;
    }
  }

  onJson(line) {
    if (this.target === 'v1') return this.onV1(line);
    if (line === '{}') {
      this.ws.send('{}');
      st.pingsAnswered++;
      return;
    }
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      st.parseErrors++;
      return;
    }
    if (m.push !== undefined) {
      if (m.push.pub !== undefined) onPublication(m.push.pub.data, this.group);
    } else this.onReply(m);
  }

  /** A v1 frame: one message or reply, or an array of them. */
  onV1(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      st.parseErrors++;
      return;
    }
    for (const r of Array.isArray(m) ? m : [m]) {
      if (r.method === 'message') onPublication(r.body?.data, this.group);
      // v1's error is a string, v2's an object: one reply path for both.
      else if (r.uid !== undefined) this.onReply({ ...r, id: Number(r.uid), error: r.error ? { code: 'v1', message: r.error } : undefined });
    }
  }

  /**
   * Closed with RST, as the storm closes its sockets: an orderly close leaves the connection in
   * TIME_WAIT for 60 s, and the 30,000 an idle case left behind made the storm that ran next cost
   * the baseline 66–68 CPU-µs per connect instead of 56–64 on a clean machine (Rotor 96–119 instead
   * of 94–115), so a case's figures depended on the case before it.
   */
  close() {
    this.closing = true;
    const socket = this.ws._socket;
    if (socket) socket.resetAndDestroy();
    else this.ws.terminate();
  }
}

/** Runs `total` tasks with at most `limit` in flight. */
async function pool(total, limit, task) {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const errors = {};
  async function worker() {
    while (next < total) {
      const i = next++;
      try {
        await task(i);
        ok++;
      } catch (err) {
        failed++;
        const k = String(err.message).slice(0, 80);
        errors[k] = (errors[k] ?? 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, total) }, worker));
  return { ok, failed, errors };
}

async function openOne(target, protocol, url, token, channel, group) {
  const c = new Conn(target, protocol, url);
  c.group = group;
  await c.opened();
  if (target === 'rotor') {
    await c.request({ connect: { token, name: 'bench' } });
    if (channel !== undefined) await c.request({ subscribe: { channel } });
  } else if (target === 'v1') {
    // `token` is {user, timestamp, token}: v1's HMAC of user, timestamp and (empty) info.
    await c.requestV1('connect', { ...token, info: '' });
    if (channel !== undefined) await c.requestV1('subscribe', { channel });
  } else if (channel !== undefined) {
    // The baseline only understands JSON text commands.
    const id = c.nextId++;
    await new Promise((resolve, reject) => {
      c.pending.set(id, { resolve, reject });
      c.ws.send(JSON.stringify({ id, subscribe: { channel } }));
    });
  }
  return c;
}

/** The hooks a socket.io connection reports through: the same counters as a Rotor `Conn`. */
const sioHooks = {
  onPublication,
  onUnexpectedClose(reason) {
    st.closedUnexpectedly++;
    st.closeCodes[reason] = (st.closeCodes[reason] ?? 0) + 1;
  },
  onGone(c) {
    conns.delete(c);
  },
};

/** `client`: 'official' (socket.io-client) or 'raw' (the protocol over `ws`); see lib/socketio-client.mjs. */
async function openSocketIo(client, url, token, channel, group) {
  const c = client === 'raw' ? new SioRawConn(url, token, sioHooks, group) : new SioConn(url, token, sioHooks, group);
  conns.add(c);
  await c.opened();
  if (channel !== undefined) await c.subscribe(channel);
  return c;
}

async function connect(m) {
  const secretKey = new TextEncoder().encode(m.secret);
  const signed = [m.target, ...(m.targets ?? [])].some((t) => t === 'rotor' || t === 'socketio');
  const v1 = [m.target, ...(m.targets ?? [])].some((t) => t === 'v1');
  const tokens = signed ? await Promise.all(Array.from({ length: m.n }, (_, i) => signToken(secretKey, `u${i}`))) : v1 ? Array.from({ length: m.n }, (_, i) => v1Credentials(m.secret, `u${i}`)) : [];
  const urls = m.urls ?? [m.url];
  subsPerChannel = new Array(m.channels).fill(0);
  subsPerGroupChannel = urls.map(() => new Array(m.channels).fill(0));
  const t0 = now();
  const r = await pool(m.n, m.concurrency ?? 200, async (i) => {
    // Connection i goes to server i % servers; channels are dealt per server, so every channel
    // has subscribers on every server (i % channels would put a channel's all on one server).
    const ch = Math.floor(i / urls.length) % m.channels;
    const url = urls[i % urls.length];
    const group = urls.length > 1 ? i % urls.length : undefined;
    // `targets`: a different kind of server per URL (the paired A/B bench: Rotor and the baseline).
    const target = m.targets?.[i % urls.length] ?? m.target;
    if (target === 'socketio') await openSocketIo(m.sioClient ?? 'official', url, tokens[i], `${m.channelPrefix}${ch}`, group);
    else {
      const protocol = m.protocols === undefined ? m.protocol : m.protocols[i % m.protocols.length];
      await openOne(target, protocol, url, tokens[i], `${m.channelPrefix}${ch}`, group);
    }
    subsPerChannel[ch]++;
    subsPerGroupChannel[i % urls.length][ch]++;
  });
  return { ev: 'connected', ok: r.ok, failed: r.failed, errors: r.errors, ms: now() - t0, open: conns.size };
}

/** Many channels on few connections (the resubscribe case): see the header. */
async function subscribeMany(m) {
  const secretKey = new TextEncoder().encode(m.secret);
  const tokens = await Promise.all(Array.from({ length: m.n }, (_, i) => signToken(secretKey, `many${i}`)));
  const total = m.n * m.perConn;
  subsPerChannel = new Array(total).fill(0);
  const inFlight = 100;
  const t0 = now();
  let subscribed = 0;
  const r = await pool(m.n, m.concurrency ?? 20, async (i) => {
    const c = await openOne('rotor', 'json', m.url, tokens[i]);
    for (let k0 = 0; k0 < m.perConn; k0 += inFlight) {
      const batch = [];
      for (let k = k0; k < Math.min(m.perConn, k0 + inFlight); k++) {
        const ch = i * m.perConn + k;
        batch.push(c.request({ subscribe: { channel: `${m.channelPrefix}${ch}` } }).then(() => {
          subsPerChannel[ch]++;
          subscribed++;
        }));
      }
      await Promise.all(batch);
    }
  });
  return { ev: 'connected', ok: r.ok, failed: r.failed, errors: r.errors, channels: subscribed, ms: now() - t0, open: conns.size };
}

function makePublisher(m) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: m.maxSockets ?? 16 });
  const api = new URL(m.apiUrl);
  let inflight = 0;
  let errors = 0;
  let done = 0;
  const idle = [];
  // pad so that the data object is ~100 bytes
  const pad = 'x'.repeat(Math.max(1, (m.payloadBytes ?? 100) - JSON.stringify({ t: now(), s: 100000, m: 1, pad: '' }).length));
  /** `ch`: the channel index; round-robin by `seq` when not given. */
  function publish(seq, measured, ch = seq % m.channels) {
    const data = { t: now(), s: seq, m: measured ? 1 : 0, pad };
    // `v1Secret`: Centrifugo v1's API, one signed command at the API root.
    const body = m.v1Secret === undefined ? JSON.stringify({ channel: `${m.channelPrefix}${ch}`, data }) : JSON.stringify({ method: 'publish', params: { channel: `${m.channelPrefix}${ch}`, data } });
    const auth = m.v1Secret === undefined ? { 'x-api-key': m.apiKey } : { 'x-api-sign': createHmac('sha256', m.v1Secret).update(body).digest('hex') };
    inflight++;
    const req = http.request(
      {
        agent,
        host: api.hostname,
        port: api.port,
        path: api.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        if (res.statusCode !== 200) errors++;
        res.resume();
        res.on('end', finish);
      },
    );
    req.on('error', () => {
      errors++;
      finish();
    });
    req.end(body);
    return ch;
  }
  function finish() {
    inflight--;
    done++;
    if (inflight === 0) while (idle.length) idle.shift()();
  }
  return {
    publish,
    get errors() {
      return errors;
    },
    drained: () => (inflight === 0 ? Promise.resolve() : new Promise((r) => idle.push(r))),
    destroy: () => agent.destroy(),
  };
}

/**
 * Publishes `count` messages at `rate`/s starting at seq `seq0`, round-robin over the channels or
 * all to channel index `ch`; resolves when all are sent.
 */
function publishAtRate(pub, rate, count, seq0, measured, onSent, ch) {
  return new Promise((resolve) => {
    const start = now();
    let sent = 0;
    const tickMs = Math.min(10, Math.max(1, 1000 / rate));
    const tick = () => {
      const due = Math.min(count, Math.floor(((now() - start) * rate) / 1000) + 1);
      while (sent < due) onSent(pub.publish(seq0 + sent++, measured, ch));
      if (sent >= count) resolve();
      else setTimeout(tick, tickMs);
    };
    tick();
  });
}

/**
 * Full collection before a measurement window: setup (signing 5,000+ tokens, connecting) leaves
 * garbage whose mark-compact would otherwise land in the window and stall the generator, which
 * reads as server latency. Needs --expose-gc (run.mjs passes it).
 */
async function collectBeforeWindow() {
  if (typeof globalThis.gc !== 'function') return;
  globalThis.gc();
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 100));
}

/**
 * A measurement window. With `poll` the generator polls instead of sleeping between events, so
 * its core never goes idle; the connection storm uses it. On this VM an idle core is halted, and
 * waking it takes an interrupt through the hypervisor that the kernel charges to whoever wrote the
 * data that woke it: on loopback, the server's write. A storm is a chain of round trips, each
 * connect waiting for the server's answers, so a generator that sleeps is woken by nearly every
 * answer, and the slower the server, the more often it finds the generator asleep. Measured: 60 µs
 * of busy work added per connection to the baseline raised its storm cost from 61 to 147 CPU-µs
 * per connect with a sleeping generator, and from 62.5 to 128 with a polling one. A remote
 * client's wake-up costs the server nothing. The poll is one setImmediate per loop turn; the
 * generator's CPU column then reads ~100 % whatever its load, and the server column says which
 * side limits. The `storm-sleeping` case measures the same storm without it.
 */
let polling = false;
function poll() {
  if (polling) setImmediate(poll);
}
function startWindow(pollDuringWindow = false) {
  polling = pollDuringWindow;
  if (polling) setImmediate(poll);
  send({ ev: 'window-start' });
}
function endWindow() {
  polling = false;
  send({ ev: 'window-end' });
}

async function waitFor(cond, timeoutMs) {
  const deadline = now() + timeoutMs;
  while (!cond() && now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

/**
 * The unmeasured warm-up at the publish rate, round-robin over the channels, until its deliveries
 * are in; then a pause and a full collection. Returns its publication count (the next sequence
 * number) and the deliveries it expected.
 */
async function warmUp(pub, m) {
  const warmCount = Math.round(m.rate * m.warmupS);
  let warmExpected = 0;
  await publishAtRate(pub, m.rate, warmCount, 0, false, (ch) => (warmExpected += subsPerChannel[ch]));
  await pub.drained();
  await waitFor(() => st.warmRecv >= warmExpected, m.drainMs);
  // Settle a little so the warm-up's tail does not land in the window.
  await new Promise((r) => setTimeout(r, 200));
  await collectBeforeWindow();
  return { warmCount, warmExpected };
}

/**
 * With `mirrorApiUrls`, every publication is posted to each of those APIs (servers that share
 * nothing, each with its own subscribers: the two-process floor); otherwise to `apiUrl`.
 */
function makeMirroredPublisher(m) {
  const urls = m.mirrorApiUrls ?? [m.apiUrl];
  if (urls.length === 1) return makePublisher({ ...m, apiUrl: urls[0] });
  const pubs = urls.map((apiUrl) => makePublisher({ ...m, apiUrl }));
  return {
    publish: (seq, measured, ch) => {
      let out;
      for (const p of pubs) out = p.publish(seq, measured, ch);
      return out;
    },
    get errors() {
      return pubs.reduce((sum, p) => sum + p.errors, 0);
    },
    drained: () => Promise.all(pubs.map((p) => p.drained())),
    destroy: () => pubs.forEach((p) => p.destroy()),
  };
}

async function runPublish(m) {
  resetStats();
  const pub = makeMirroredPublisher(m);
  const { warmCount, warmExpected } = await warmUp(pub, m);
  const measCount = Math.round(m.rate * m.measureS);
  const errorsBefore = pub.errors;
  startWindow();
  const t0 = now();
  let expected = 0;
  await publishAtRate(pub, m.rate, measCount, warmCount, true, (ch) => (expected += subsPerChannel[ch]));
  const tPublished = now();
  await pub.drained();
  const complete = await waitFor(() => st.measuredRecv >= expected, m.drainMs);
  const t1 = now();
  endWindow();
  pub.destroy();
  const h = st.hist;
  const ms = (v) => v / 1000;
  return {
    ev: 'result',
    stats: {
      published: measCount,
      publishErrors: pub.errors - errorsBefore,
      expected,
      delivered: st.measuredRecv,
      lost: Math.max(0, expected - st.measuredRecv),
      complete,
      windowMs: t1 - t0,
      publishMs: tPublished - t0,
      deliveredPerSec: st.measuredRecv / ((t1 - t0) / 1000),
      latencyMs: {
        p50: ms(h.percentile(50)),
        p90: ms(h.percentile(90)),
        p99: ms(h.percentile(99)),
        max: ms(h.max),
        mean: ms(h.mean),
        count: h.count,
      },
      // Per server of connect's `urls` (several only): p50/p99/max of its subscribers.
      latencyByServerMs: st.groupHists.length === 0 ? undefined : st.groupHists.map((g) => ({ p50: ms(g.percentile(50)), p99: ms(g.percentile(99)), max: ms(g.max), count: g.count })),
      warmupExpected: warmExpected,
      warmupDelivered: st.warmRecv,
      closedUnexpectedly: st.closedUnexpectedly,
      closeCodes: st.closeCodes,
      pingsAnswered: st.pingsAnswered,
      parseErrors: st.parseErrors,
      openConnections: conns.size,
    },
  };
}

/**
 * One storm connect over a raw TCP socket: a pre-built upgrade request, the 101 recognised by its
 * status line, and for Rotor one masked text frame with the connect command, done when the first
 * server frame (the connect reply) is complete. Far cheaper for the generator than a `ws` client,
 * so the server and not the generator is what limits connects/s.
 */
function rawConnect(host, port, pathName, connectFrame) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, noDelay: true });
    let buf = Buffer.alloc(0);
    let upgraded = false;
    sock.on('error', reject);
    sock.on('close', () => reject(new Error('closed during connect')));
    sock.on('connect', () => {
      sock.write(
        `GET ${pathName} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    sock.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, 13).toString('latin1').startsWith('HTTP/1.1 101')) {
          sock.destroy();
          return reject(new Error(`upgrade refused: ${buf.subarray(0, buf.indexOf('\r\n')).toString('latin1')}`));
        }
        upgraded = true;
        buf = buf.subarray(end + 4);
        if (connectFrame === undefined) {
          sock.removeAllListeners('close');
          return resolve(sock);
        }
        sock.write(connectFrame);
      }
      // First server frame complete?
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      const payload = buf.subarray(off, off + len).toString('utf8');
      sock.removeAllListeners('close');
      if ((buf[0] & 0x0f) === 8 || !payload.includes('"connect"')) {
        sock.destroy();
        return reject(new Error(`connect failed: ${payload.slice(0, 80)}`));
      }
      sock.removeAllListeners('data');
      resolve(sock);
    });
  });
}

/** A masked (all-zero mask) client text frame. */
function clientTextFrame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, 0x80 | n]) : n < 65536 ? Buffer.from([0x81, 0x80 | 126, n >> 8, n & 0xff]) : null;
  if (head === null) throw new Error('frame too large');
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}

/**
 * Slice order. In each A-B-B-A group either channel has one slice right after a switch (costlier:
 * its subscribers' state is cold) and one after a slice of its own (for the first group's A, the
 * unmeasured lead-in slice), and a steady drift cancels.
 */
const ABBA = [0, 1, 1, 0];

/**
 * One slice: `count` publications at the rate, all to channel `ch`, then a wait until their
 * deliveries are in (or the drain timeout). A slice that times out (lost deliveries, flagged by
 * the lost count) may see its late deliveries counted in the next one.
 */
async function publishSlice(pub, m, ch, seq, count) {
  const expected = count * subsPerChannel[ch];
  const recv0 = st.measuredRecv;
  await publishAtRate(pub, m.rate, count, seq, true, () => {}, ch);
  await pub.drained();
  await waitFor(() => st.measuredRecv - recv0 >= expected, m.drainMs);
  return { expected, delivered: st.measuredRecv - recv0 };
}

/**
 * The paired A/B pub/sub case: two servers connected at once (connect's `urls` and `targets`),
 * slices of `sliceS` at `rate`, round-robin over the channels, alternating between the servers'
 * APIs in A-B-B-A groups; each slice waits for its deliveries. Latency per server from its
 * subscribers (`groupHists`). window-end → {slices:[{server, expected, delivered, ms}], p99Ms, p50Ms}.
 */
async function runAbSlices(m) {
  resetStats();
  const pubs = m.apiUrls.map((apiUrl) => makePublisher({ ...m, apiUrl }));
  const perSlice = Math.round(m.rate * m.sliceS);
  const expectedOf = (server, seq0) => {
    let e = 0;
    for (let k = 0; k < perSlice; k++) e += subsPerGroupChannel[server][(seq0 + k) % m.channels];
    return e;
  };
  const slice = async (server, seq0, measured) => {
    const expected = expectedOf(server, seq0);
    const recv0 = measured ? st.measuredRecv : st.warmRecv;
    await publishAtRate(pubs[server], m.rate, perSlice, seq0, measured, () => {});
    await pubs[server].drained();
    await waitFor(() => (measured ? st.measuredRecv : st.warmRecv) - recv0 >= expected, m.drainMs);
    return { expected, delivered: (measured ? st.measuredRecv : st.warmRecv) - recv0 };
  };
  let seq = 0;
  // Unmeasured: a warm-up slice on each server, then a lead-in slice on server 0 (the first
  // measured slice then follows one of its own, as every later group's first slice does).
  for (const server of [0, 1, 0]) {
    await slice(server, seq, false);
    seq += perSlice;
  }
  await collectBeforeWindow();
  const slices = [];
  startWindow();
  for (let k = 0; k < m.slices; k++) {
    const server = ABBA[k % ABBA.length];
    send({ ev: 'slice', phase: 'start', server });
    const t0 = now();
    const r = await slice(server, seq, true);
    seq += perSlice;
    send({ ev: 'slice', phase: 'end', server });
    slices.push({ server, ...r, ms: now() - t0 });
    await new Promise((res) => setTimeout(res, 100));
  }
  endWindow();
  for (const p of pubs) p.destroy();
  const pct = (q) => m.apiUrls.map((_, g) => (st.groupHists[g] ? st.groupHists[g].percentile(q) / 1000 : null));
  return {
    ev: 'result',
    stats: { slices, p50Ms: pct(50), p99Ms: pct(99), publishErrors: pubs.map((p) => p.errors), closedUnexpectedly: st.closedUnexpectedly, closeCodes: st.closeCodes },
  };
}

async function runSlices(m) {
  resetStats();
  const pub = makePublisher({ ...m, channels: 2 });
  let seq = (await warmUp(pub, m)).warmCount;
  const errorsBefore = pub.errors;
  const perSlice = Math.round(m.rate * m.sliceS);
  const pause = () => new Promise((r) => setTimeout(r, 100));
  // An unmeasured slice on channel 0 first: the first measured slice (channel 0) then follows one
  // of its own, as every later group's first slice does. After the warm-up, which alternates
  // channels publication by publication, it would start cold and weigh on channel 0 alone.
  await publishSlice(pub, m, 0, seq, perSlice);
  seq += perSlice;
  await pause();
  const slices = [];
  startWindow();
  for (let k = 0; k < m.slices; k++) {
    const ch = ABBA[k % ABBA.length];
    send({ ev: 'slice', phase: 'start', ch });
    const t0 = now();
    const { expected, delivered } = await publishSlice(pub, m, ch, seq, perSlice);
    seq += perSlice;
    send({ ev: 'slice', phase: 'end', ch });
    slices.push({ ch, expected, delivered, ms: now() - t0 });
    await pause();
  }
  endWindow();
  pub.destroy();
  return {
    ev: 'result',
    stats: { slices, publishErrors: pub.errors - errorsBefore, closedUnexpectedly: st.closedUnexpectedly, closeCodes: st.closeCodes, parseErrors: st.parseErrors, openConnections: conns.size },
  };
}

async function runStorm(m) {
  resetStats();
  const u = new URL(m.url);
  const secretKey = new TextEncoder().encode(m.secret);
  const warm = m.warmup ?? 0;
  // Every connect has its own token, warm-up ones included, so no verification is served from
  // Rotor's token cache.
  // The baseline gets connect frames too in the echo variant (it answers them without a JWT check).
  // Tokenless (the connect-proxy storm): every connect sends the same frame, so one is built.
  const tokenless = m.tokenless === true ? clientTextFrame(JSON.stringify({ id: 1, connect: { name: 'bench' } })) : undefined;
  const frames =
    tokenless !== undefined
      ? new Array(warm + m.n).fill(tokenless)
      : m.target === 'rotor' || m.echo
      ? await Promise.all(
          Array.from({ length: warm + m.n }, async (_, i) => clientTextFrame(JSON.stringify({ id: 1, connect: { token: await signToken(secretKey, `storm${i}`), name: 'bench' } }))),
        )
      : [];
  const storm = async (count, offset) => {
    const socks = [];
    const r = await pool(count, m.concurrency ?? 100, async (i) => {
      socks.push(await rawConnect(u.hostname, Number(u.port), u.pathname, frames[offset + i]));
    });
    return { r, socks };
  };
  if (warm > 0) {
    // The same storm, not measured: the server's code paths are optimised before the window, as
    // in the other scenarios. Its connections are closed and the server left to settle first.
    const w = await storm(warm, 0);
    for (const s of w.socks) s.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 1500));
  }
  await collectBeforeWindow();
  startWindow(m.poll === true);
  const t0 = now();
  const { r, socks } = await storm(m.n, warm);
  const t1 = now();
  endWindow();
  // Closed with RST: an orderly close would leave 10,000 ports in TIME_WAIT for a minute, kernel
  // state the next storm's connects would have to search through.
  for (const s of socks) s.resetAndDestroy();
  return {
    ev: 'result',
    stats: { attempted: m.n, warmup: warm, connects: r.ok, connectsFailed: r.failed, errors: r.errors, ms: t1 - t0, connectsPerSec: r.ok / ((t1 - t0) / 1000) },
  };
}

async function runAutocannon(m) {
  const { default: autocannon } = await import('autocannon');
  resetStats();
  const body = JSON.stringify({ channel: m.channel, data: { s: 0, pad: 'x'.repeat(80) } });
  await collectBeforeWindow();
  startWindow();
  const t0 = now();
  const result = await autocannon({
    url: m.apiUrl,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': m.apiKey },
    body,
    connections: m.connections ?? 32,
    pipelining: 1,
    duration: m.durationS,
  });
  const t1 = now();
  // Let the fan-out of the last requests finish before closing the window.
  const expectedPerReq = m.subscribers ?? 0;
  await waitFor(() => st.otherRecv >= result.requests.total * expectedPerReq, 3000);
  endWindow();
  return {
    ev: 'result',
    stats: {
      requests: result.requests.total,
      reqPerSec: result.requests.average,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
      deliveries: st.otherRecv,
      expectedDeliveries: result.requests.total * expectedPerReq,
      ms: t1 - t0,
    },
  };
}

process.on('message', async (m) => {
  try {
    if (m.cmd === 'connect') send(await connect(m));
    else if (m.cmd === 'subscribeMany') send(await subscribeMany(m));
    else if (m.cmd === 'publish') send(await runPublish(m));
    else if (m.cmd === 'slices') send(await runSlices(m));
    else if (m.cmd === 'abSlices') send(await runAbSlices(m));
    else if (m.cmd === 'storm') send(await runStorm(m));
    else if (m.cmd === 'autocannon') send(await runAutocannon(m));
    else if (m.cmd === 'close') {
      for (const c of [...conns]) c.close();
      await waitFor(() => conns.size === 0, 5000);
      send({ ev: 'closed' });
    } else if (m.cmd === 'exit') process.exit(0);
  } catch (err) {
    send({ ev: 'error', message: String(err?.stack ?? err) });
  }
});
send({ ev: 'ready' });
