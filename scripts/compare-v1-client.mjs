/**
 * The v1 client protocol half of `npm run compare:v1`: the same sessions of raw WebSocket frames
 * against the real v1.8 server and against Rotor. After each command, what arrived within a short
 * wait is compared as a set of frames (v1.8 sends a subscriber's own join before the subscribe
 * reply, Rotor just after), with client IDs, message uids, `last` and versions blanked. A close is
 * compared by code and reason. The differences docs/v1-clients.md lists are expected: they are
 * printed as DIFF and counted apart.
 */
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';

const SETTLE_MS = 300;
/** Steps whose difference is documented (docs/v1-clients.md, "Differences from v1.8"). */
const EXPECTED = new Set(['unknown method', 'a command before connect', 'unsubscribe', 'presence without presence']);

const token = (secret, user, ts, info = '') => createHmac('sha256', secret).update(user + ts + info).digest('hex');

function normalize(frame) {
  const v = JSON.parse(frame);
  const blank = (x) =>
    JSON.parse(
      JSON.stringify(x, (k, val) => {
        if (['client', 'uid', 'last', 'version'].includes(k) && typeof val === 'string' && val !== '' && !/^\d+$/.test(val)) return '*';
        if (val !== null && typeof val === 'object' && !Array.isArray(val)) {
          // Key order carries no meaning; presence maps are keyed by client ID.
          const out = {};
          for (const kk of Object.keys(val).sort()) out[/^[0-9a-f-]{36}$/.test(kk) ? '*' : kk] = val[kk];
          return out;
        }
        return val;
      }),
    );
  return JSON.stringify(blank(v));
}

async function session(port, steps) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/connection/websocket`);
  let got = [];
  let closed;
  ws.on('message', (d) => got.push(normalize(d.toString())));
  ws.on('close', (code, reason) => (closed = `close ${code} ${reason.toString()}`));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const out = [];
  for (const [name, frame] of steps) {
    got = [];
    if (!closed) ws.send(typeof frame === 'function' ? frame() : frame);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    out.push([name, [...got].sort().concat(closed ? [closed] : []).join("\n        ")]);
  }
  ws.terminate();
  return out;
}

export async function compareClientSessions(v1Port, rotorPort, secret) {
  const ts = String(Math.floor(Date.now() / 1000));
  const connect = (user, tok = token(secret, user, ts)) => JSON.stringify({ uid: '1', method: 'connect', params: { user, timestamp: ts, info: '', token: tok } });
  const cmd = (uid, method, params) => JSON.stringify({ uid, method, ...(params ? { params } : {}) });
  const sessions = [
    [
      ['connect', connect('42')],
      ['subscribe', cmd('2', 'subscribe', { channel: 'public:c' })],
      ['publish', cmd('3', 'publish', { channel: 'public:c', data: { a: 1 } })],
      ['presence', cmd('4', 'presence', { channel: 'public:c' })],
      ['history', cmd('5', 'history', { channel: 'public:c' })],
      ['ping', cmd('6', 'ping')],
      ['subscribe again', cmd('7', 'subscribe', { channel: 'public:c' })],
      ['unsubscribe', cmd('8', 'unsubscribe', { channel: 'public:c' })],
      ['publish unsubscribed', cmd('9', 'publish', { channel: 'public:c', data: 1 })],
      ['subscribe, unknown namespace', cmd('10', 'subscribe', { channel: 'nope:c' })],
      ['presence without presence', cmd('11', 'presence', { channel: 'plain' })],
      ['private channel, wrong sign', cmd('12', 'subscribe', { channel: '$p', client: 'x', sign: 'bad', info: '' })],
      ['another user channel', cmd('13', 'subscribe', { channel: 'news#7' })],
      ['unknown method', cmd('14', 'nope')],
    ],
    [['a bad token', connect('42', 'bad')]],
    [['a command before connect', cmd('1', 'subscribe', { channel: 'public:c' })]],
  ];
  let total = 0;
  let differ = 0;
  let documented = 0;
  for (const steps of sessions) {
    const [a, b] = [await session(v1Port, steps), await session(rotorPort, steps)];
    for (let i = 0; i < steps.length; i++) {
      total++;
      const [name, x] = a[i];
      const y = b[i][1];
      const same = x === y;
      const expected = !same && EXPECTED.has(name);
      if (!same && !expected) differ++;
      if (expected) documented++;
      console.log(`${same ? 'same ' : expected ? 'diff (documented)' : 'DIFF '} ${name}\n      v1.8:  ${x}${same ? '' : `\n      Rotor: ${y}`}`);
    }
  }
  return { total, differ, documented };
}
