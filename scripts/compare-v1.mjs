#!/usr/bin/env node
/**
 * `npm run compare:v1`: the same v1 server API exchanges against the real Centrifugo v1.8
 * (../shared/reference/centrifugo-v1.8.0, a development aid, not in `npm test`) and against Rotor
 * started from the same v1 config file, side by side: status and body of each, with what differs.
 * Random parts (history uids, node metrics and times) are blanked before comparing. Then the same
 * v1 client protocol sessions over raw WebSocket (client-protocol.mjs beside this file): each
 * command's answers compared as a set, client IDs, message uids and versions blanked. Needs
 * `npm run build`. Exits 1 when an exchange differs beyond the documented differences
 * (docs/api-v1.md, docs/v1-clients.md).
 */
import { compareClientSessions } from './compare-v1-client.mjs';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const V1 = path.resolve(ROOT, '../shared/reference/centrifugo-v1.8.0');
if (!existsSync(V1)) {
  console.error(`compare:v1 needs the reference server at ${V1}`);
  process.exit(2);
}
const SECRET = 'compare-secret';
const CONFIG = { secret: SECRET, namespaces: [{ name: 'public', history_size: 10, history_lifetime: 60, presence: true, publish: true, join_leave: true, recover: true }] };

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitUp(port) {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/api/`, { method: 'POST' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

const dir = mkdtempSync(path.join(tmpdir(), 'rotor-compare-v1-'));
const file = path.join(dir, 'v1.json');
writeFileSync(file, JSON.stringify(CONFIG));
const [v1Port, rotorPort] = [await freePort(), await freePort()];
const procs = [
  spawn(V1, ['--config', file, '--port', String(v1Port), '--address', '127.0.0.1', '--log_level', 'none'], { stdio: 'ignore' }),
  spawn(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), '-c', file, '--port', String(rotorPort), '--address', '127.0.0.1', '--log.level', 'none'], { stdio: 'ignore' }),
];
const sign = (body) => createHmac('sha256', SECRET).update(body).digest('hex');
const json = { 'Content-Type': 'application/json' };

/** Each exchange: a name and the request (body, headers). */
const cmd = (method, params) => JSON.stringify({ method, params });
const EXCHANGES = [
  ['publish, signed', cmd('publish', { channel: 'public:a', data: { x: 1 } })],
  ['publish with client', cmd('publish', { channel: 'public:a', data: { x: 2 }, client: 'abc' })],
  ['history', cmd('history', { channel: 'public:a' })],
  ['history without history', cmd('history', { channel: 'plain' })],
  ['presence', cmd('presence', { channel: 'public:a' })],
  ['presence, unknown namespace', cmd('presence', { channel: 'nope:x' })],
  ['channels', cmd('channels', {})],
  ['unsubscribe', cmd('unsubscribe', { channel: 'public:a', user: '1' })],
  ['disconnect', cmd('disconnect', { user: '1' })],
  ['broadcast, unknown namespace second', cmd('broadcast', { channels: ['public:a', 'nope:x'], data: {} })],
  ['an array', `[${cmd('channels', {})},${cmd('presence', { channel: 'public:a' })}]`],
  ['unknown method', cmd('nope', {})],
  ['publish without data', cmd('publish', { channel: 'public:a' })],
  ['publish to an empty channel', cmd('publish', { channel: '', data: {} })],
  ['client not a string', cmd('publish', { channel: 'public:a', data: {}, client: 5 })],
  ['not JSON', 'not json'],
].map(([name, body]) => ({ name, body, headers: { ...json, 'X-API-Sign': sign(body) } }));
const body1 = cmd('channels', {});
EXCHANGES.push({ name: 'no sign', body: body1, headers: json });
EXCHANGES.push({ name: 'a wrong sign', body: body1, headers: { ...json, 'X-API-Sign': sign('other') } });
EXCHANGES.push({ name: 'a signed form', form: new URLSearchParams({ data: body1, sign: sign(body1) }) });

function normalize(text) {
  try {
    const v = JSON.parse(text);
    return JSON.stringify(v, (k, x) => (k === 'uid' || k === 'started_at' || k === 'metrics' || k === 'name' || k === 'version' ? '*' : x));
  } catch {
    return text.trim();
  }
}

async function send(port, e) {
  const r = await fetch(`http://127.0.0.1:${port}/api/`, e.form ? { method: 'POST', body: e.form } : { method: 'POST', headers: e.headers, body: e.body });
  return `${r.status} ${normalize(await r.text())}`;
}

let differ = 0;
try {
  await Promise.all([waitUp(v1Port), waitUp(rotorPort)]);
  for (const e of EXCHANGES) {
    const [a, b] = [await send(v1Port, e), await send(rotorPort, e)];
    const same = a === b;
    if (!same) differ++;
    console.log(`${same ? 'same ' : 'DIFF '} ${e.name}\n      v1.8:  ${a}${same ? '' : `\n      Rotor: ${b}`}`);
  }
  console.log(`\n${EXCHANGES.length - differ} of ${EXCHANGES.length} API exchanges answered the same\n`);
  const client = await compareClientSessions(v1Port, rotorPort, SECRET);
  console.log(`\n${client.total - client.differ - client.documented} of ${client.total} client protocol steps answered the same; ${client.documented} differ as docs/v1-clients.md says; ${client.differ} otherwise`);
  differ += client.differ;
} finally {
  for (const p of procs) p.kill('SIGKILL');
}
process.exit(differ === 0 ? 0 : 1);
