#!/usr/bin/env node
/**
 * The reference point: what Node + `ws` can do at all. A bare broadcast server with no protocol
 * beyond what the load generator needs.
 *
 * - WebSocket on any path. A client offering the `centrifuge-protobuf` subprotocol gets binary
 *   pushes (a varint-delimited protobuf Reply), anyone else JSON text pushes, byte-for-byte the
 *   shape Rotor sends: {"push":{"channel":…,"pub":{"data":…}}}.
 * - Text message {"id":N,"subscribe":{"channel":C}} adds the socket to channel C and is answered
 *   {"id":N,"subscribe":{}}; {"id":N,"connect":{…}} is answered with a fixed connect reply (the
 *   echo variant of the connection storm). App-level pings are answered the way a minimal server would:
 *   `{}` → `{}` (JSON), the byte 0x00 → 0x00 (protobuf); WebSocket ping frames are answered by ws.
 * - POST /api/publish {"channel":C,"data":D} with X-API-Key: builds ONE frame payload for the
 *   publication (per protocol variant actually used) and `ws.send`s that same Buffer to every
 *   socket of C. Answers {"result":{}}.
 * - GET /health → 200.
 * - `--raw`: the floor of a Node server's fan-out. Each publication's whole WebSocket frame
 *   (header and payload, unmasked, so the same bytes for every subscriber) is built once and
 *   written with `socket.write` to each subscriber's TCP socket, bypassing ws's per-send framing:
 *   what Rotor does when no extension is negotiated, with nothing else around it. JSON only.
 *
 * Usage: node bench/baseline-server.mjs --port 18001 [--host 127.0.0.1] [--api-key KEY] [--raw]
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';
import pb from 'protobufjs/light.js';
import { descriptor } from '../dist/protocol/protobuf/descriptor.generated.js';
import { varintPrefixed } from './lib/client-proto.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const port = Number(opt('port', '18001'));
const host = opt('host', '127.0.0.1');
const apiKey = opt('api-key', 'bench-api-key');
const raw = args.includes('--raw');

/** One unmasked, final text frame around `payload` (RFC 6455 §5.2). */
function textFrame(payload) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 255]) : Buffer.alloc(10);
  if (n >= 65536) {
    head[0] = 0x81;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

const root = pb.Root.fromJSON(descriptor);
const ReplyType = root.lookupType('centrifugal.centrifuge.protocol.Reply');

/** channel → Set<ws> */
const channels = new Map();
let connections = 0;

const TEXT = { binary: false };
const BINARY = { binary: true };
const PING_JSON = Buffer.from('{}');
const PING_PB = Buffer.from([0]);


const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/api/publish') {
    res.writeHead(404);
    res.end();
    return;
  }
  if (req.headers['x-api-key'] !== apiKey) {
    res.writeHead(401);
    res.end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400);
      res.end();
      return;
    }
    const set = channels.get(body.channel);
    if (set !== undefined && set.size > 0) {
      const dataJson = JSON.stringify(body.data);
      let jsonFrame;
      let pbFrame;
      if (raw) {
        const frame = textFrame(Buffer.from(`{"push":{"channel":${JSON.stringify(body.channel)},"pub":{"data":${dataJson}}}}`));
        for (const ws of set) if (!ws.socket.destroyed) ws.socket.write(frame);
      } else {
        for (const ws of set) {
          if (ws.protobuf) {
            pbFrame ??= varintPrefixed(
              Buffer.from(ReplyType.encode({ push: { channel: body.channel, pub: { data: Buffer.from(dataJson) } } }).finish()),
            );
            ws.send(pbFrame, BINARY);
          } else {
            jsonFrame ??= Buffer.from(`{"push":{"channel":${JSON.stringify(body.channel)},"pub":{"data":${dataJson}}}}`);
            ws.send(jsonFrame, TEXT);
          }
        }
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"result":{}}');
  });
});

const wss = new WebSocketServer({
  server,
  clientTracking: false,
  perMessageDeflate: false,
  maxPayload: 65536,
  handleProtocols: (protocols) => (protocols.has('centrifuge-protobuf') ? 'centrifuge-protobuf' : false),
});

wss.on('connection', (ws, req) => {
  connections++;
  // The upgraded TCP socket ws writes to (the `--raw` fan-out writes to it directly).
  ws.socket = req.socket;
  ws.protobuf = ws.protocol === 'centrifuge-protobuf';
  ws.channels = undefined;
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      if (data.length === 1 && data[0] === 0) ws.send(PING_PB, BINARY);
      return;
    }
    if (data.length === 2 && data[0] === 0x7b && data[1] === 0x7d) {
      ws.send(PING_JSON, TEXT);
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      ws.close(1003, 'bad message');
      return;
    }
    // The echo variant of the connection storm: a connect command gets a fixed reply, the same
    // read and write Rotor does for a connect, without verifying anything.
    if (msg.connect) {
      ws.send(`{"id":${Number(msg.id) || 0},"connect":{"client":"baseline","version":"0"}}`, TEXT);
      return;
    }
    if (msg.subscribe && typeof msg.subscribe.channel === 'string') {
      const ch = msg.subscribe.channel;
      let set = channels.get(ch);
      if (set === undefined) channels.set(ch, (set = new Set()));
      set.add(ws);
      (ws.channels ??= []).push(ch);
      ws.send(`{"id":${Number(msg.id) || 0},"subscribe":{}}`, TEXT);
    }
  });
  ws.on('error', () => {});
  ws.on('close', () => {
    connections--;
    if (ws.channels) {
      for (const ch of ws.channels) {
        const set = channels.get(ch);
        if (set === undefined) continue;
        set.delete(ws);
        if (set.size === 0) channels.delete(ch);
      }
    }
  });
});

server.listen(port, host, () => {
  process.stdout.write(`baseline listening on ${host}:${port}\n`);
});

const stop = () => {
  wss.close();
  server.close();
  // Exit normally so --cpu-prof can write its profile.
  setTimeout(() => process.exit(0), 50).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
