#!/usr/bin/env node
/**
 * The comparison server of the two-node case (bench/two-node.mjs): socket.io 4 on its WebSocket
 * transport only, joined to other nodes through `@socket.io/redis-adapter` over two ioredis
 * connections (one publishing, one subscribed), one room per channel. It does what the load
 * generator needs from Rotor, the socket.io way:
 *
 * - Connect: `auth.token`, an HS256 JWT with the bench secret, checked by a middleware (jose),
 *   as Rotor checks its connect token; a bad token refuses the connection.
 * - Event `subscribe` (channel, ack) joins the room named after the channel and acks `{}`.
 * - POST /publish {"channel":C,"data":D} with X-API-Key: `io.to(C).emit('pub', {channel: C, data: D})`,
 *   answered {"result":{}} as Rotor's publish API answers. With the adapter the event goes to this
 *   node's sockets in the room directly and to the other nodes through Redis PUB/SUB (the
 *   adapter's MessagePack framing, one PUBLISH per broadcast).
 * - GET /health → 200.
 *
 * Usage: node bench/socketio-server.mjs --port P [--host 127.0.0.1] [--api-key KEY] [--secret S]
 *        [--redis redis://127.0.0.1:6379]   (without --redis: socket.io's in-memory adapter)
 */
import http from 'node:http';
import { Server } from 'socket.io';
import { jwtVerify } from 'jose';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const port = Number(opt('port', '18002'));
const host = opt('host', '127.0.0.1');
const apiKey = opt('api-key', 'bench-api-key');
const secretKey = new TextEncoder().encode(opt('secret', 'bench-hmac-secret-0123456789abcdef'));
const redisUrl = opt('redis', undefined);

const httpServer = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
    return;
  }
  // socket.io's own requests (/socket.io/...) are answered by its listener on this server.
  if (req.url.startsWith('/socket.io/')) return;
  if (req.method !== 'POST' || req.url !== '/publish') {
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
    if (typeof body?.channel !== 'string') {
      res.writeHead(400);
      res.end();
      return;
    }
    io.to(body.channel).emit('pub', { channel: body.channel, data: body.data });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"result":{}}');
  });
});

const io = new Server(httpServer, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  // No HTTP long-polling, so no CORS and no sticky sessions needed between the two nodes.
  allowUpgrades: false,
});

io.use(async (socket, next) => {
  try {
    const token = socket.handshake.auth?.token;
    if (typeof token !== 'string') throw new Error('no token');
    const { payload } = await jwtVerify(token, secretKey, { algorithms: ['HS256'] });
    socket.data.user = payload.sub ?? '';
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});

io.on('connection', (socket) => {
  socket.on('subscribe', (channel, ack) => {
    if (typeof channel !== 'string') {
      if (typeof ack === 'function') ack({ error: 'bad channel' });
      return;
    }
    socket.join(channel);
    if (typeof ack === 'function') ack({});
  });
});

let redis;
if (redisUrl !== undefined) {
  // Loaded only with --redis, so the in-memory variant runs without them.
  const [{ Redis }, { createAdapter }] = await Promise.all([import('ioredis'), import('@socket.io/redis-adapter')]);
  const pub = new Redis(redisUrl, { lazyConnect: true });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', (err) => process.stderr.write(`redis: ${err.message}\n`));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
  redis = [pub, sub];
}

httpServer.listen(port, host, () => {
  process.stdout.write(`socket.io listening on ${host}:${port}${redisUrl ? ` (redis adapter, ${redisUrl})` : ''}\n`);
});

const stop = () => {
  io.close();
  for (const c of redis ?? []) c.disconnect();
  setTimeout(() => process.exit(0), 50).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
