/**
 * Inbound message limits of the WebSocket transports with permessage-deflate (Centrifugo v6.8.4):
 * `message_size_limit` bounds a message as read from the wire, `decompressed_message_size_limit`
 * (0: 10 × message_size_limit) bounds it after inflating. A message that compresses well may be
 * larger than the wire limit; a decompression bomb is refused with 1009 without being inflated.
 * The bomb and fragmented frames are written by a raw client over `node:net`, so the test process
 * (which runs the server) never holds the inflated bytes itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { constants, createDeflateRaw, inflateRawSync } from 'node:zlib';
import { connToken, withServer, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { closedWithin, within } from '../helpers/error-paths.js';
import { until } from '../helpers/wait.js';
import type { ConfigInput } from '../../src/config/schema.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const UNI_PATH = '/connection/uni_websocket';
const WS_PATH = '/connection/websocket';

const COMPRESSION: ConfigInput = {
  websocket: { compression: true },
  uni_websocket: { enabled: true, compression: true },
  channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true, allow_publish_for_client: true }] },
};

const uniUrl = (srv: TestServer) => `ws://127.0.0.1:${srv.port}${UNI_PATH}`;

// ---------------------------------------------------------------- a raw WebSocket client

const OP_TEXT = 0x1;
const OP_CONTINUATION = 0x0;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;

/** RFC 7692 §7.2.1: a compressed message is a sync-flushed raw deflate stream without its final 00 00 ff ff. */
async function compressed(parts: Iterable<Buffer>): Promise<Buffer> {
  const d = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  for (const p of parts) if (!d.write(p)) await once(d, 'drain');
  await new Promise<void>((resolve) => d.flush(constants.Z_SYNC_FLUSH, () => resolve()));
  d.close();
  const all = Buffer.concat(out);
  return all.subarray(0, all.length - 4);
}

/** `bytes` zero bytes, made 1 MiB at a time so the inflated size is never held here. */
function* zeros(bytes: number): Generator<Buffer> {
  const chunk = Buffer.alloc(MIB);
  for (let left = bytes; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
}

/** Bytes of a client frame header (RFC 6455 §5.2) for a payload of `len` bytes, mask included. */
const headerLength = (len: number): number => (len < 126 ? 2 : len < 65536 ? 4 : 10) + 4;

/** One masked client frame. */
function frame(opcode: number, payload: Buffer, opts: { fin?: boolean; rsv1?: boolean } = {}): Buffer {
  const b0 = (opts.fin === false ? 0 : 0x80) | (opts.rsv1 === true ? 0x40 : 0) | opcode;
  const len = payload.length;
  const head = len < 126 ? Buffer.from([b0, 0x80 | len]) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (len >= 126) {
    head[0] = b0;
    if (len < 65536) {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(len, 2);
    } else {
      head[1] = 0x80 | 127;
      head.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
      head.writeUInt32BE(len % 2 ** 32, 6);
    }
  }
  const mask = randomBytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, mask, masked]);
}

interface ServerFrame {
  opcode: number;
  rsv1: boolean;
  payload: Buffer;
}

/** A WebSocket client over a plain socket: sends hand-built frames, collects the server's frames. */
class RawSocket {
  readonly frames: ServerFrame[] = [];
  readonly closed: Promise<void>;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(
    readonly socket: Socket,
    readonly extensions: string,
    rest: Buffer,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => {});
    if (rest.length > 0) this.onData(rest);
  }

  /** Opens `path`, offering permessage-deflate without context takeover when `deflate`. */
  static async open(port: number, path: string, deflate: boolean): Promise<RawSocket> {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await once(socket, 'connect');
    const offer = deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n' : '';
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${offer}\r\n`,
    );
    // One listener until the head is complete: a socket in flowing mode drops data nobody listens to.
    const { head, rest } = await within(
      new Promise<{ head: string; rest: Buffer }>((resolve) => {
        let got = Buffer.alloc(0);
        const onData = (chunk: Buffer): void => {
          got = Buffer.concat([got, chunk]);
          const end = got.indexOf('\r\n\r\n');
          if (end === -1) return;
          socket.off('data', onData);
          resolve({ head: got.subarray(0, end).toString('latin1'), rest: got.subarray(end + 4) });
        };
        socket.on('data', onData);
      }),
      5000,
      'the upgrade answer',
    );
    assert.match(head, /^HTTP\/1\.1 101 /, head);
    const ext = /^sec-websocket-extensions: *(.*)$/im.exec(head)?.[1] ?? '';
    return new RawSocket(socket, ext, rest);
  }

  send(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** The close code of the server's close frame, once it came. */
  async closeCode(ms = 5000): Promise<number> {
    const f = await this.next((x) => x.opcode === OP_CLOSE, ms);
    return f.payload.readUInt16BE(0);
  }

  /** Waits for a server frame matching `pred`. */
  async next(pred: (f: ServerFrame) => boolean, ms = 5000): Promise<ServerFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a server frame; got opcodes ${this.frames.map((x) => x.opcode).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Text of a server data frame, inflated when compressed (no context takeover was negotiated). */
  static text(f: ServerFrame): string {
    return (f.rsv1 ? inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }) : f.payload).toString('utf8');
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) break;
      const len7 = this.buf[1]! & 0x7f;
      const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      if (this.buf.length < 2 + ext) break;
      const len = len7 === 126 ? this.buf.readUInt16BE(2) : len7 === 127 ? Number(this.buf.readBigUInt64BE(2)) : len7;
      if (this.buf.length < 2 + ext + len) break;
      const b0 = this.buf[0]!;
      this.frames.push({ opcode: b0 & 0x0f, rsv1: (b0 & 0x40) !== 0, payload: this.buf.subarray(2 + ext, 2 + ext + len) });
      this.buf = this.buf.subarray(2 + ext + len);
    }
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Peak resident set size of this process (server and test alike) so far, bytes. */
const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

// ---------------------------------------------------------------- the bomb first: it measures this process's peak memory

test('a 50 MB zero-filled message compressed below message_size_limit is refused with 1009 and never inflated past the limit (websocket and uni_websocket)', async () => {
  const bomb = await compressed(zeros(50 * 1000 * 1000));
  assert.ok(bomb.length < 64 * KIB, `the bomb is ${bomb.length} bytes on the wire, within message_size_limit`);
  await withServer(COMPRESSION, async (srv) => {
    for (const path of [WS_PATH, UNI_PATH]) {
      const c = await RawSocket.open(srv.port, path, true);
      assert.match(c.extensions, /^permessage-deflate/, path);
      const before = peakRss();
      await c.send(frame(OP_TEXT, bomb, { rsv1: true }));
      assert.equal(await c.closeCode(), 1009, path);
      // Inflating stops at the 640 KiB decompressed limit; inflated in full, the 50 MB would
      // raise the process's peak by about that much.
      const grew = peakRss() - before;
      assert.ok(grew < 8 * MIB, `${path}: peak RSS grew by ${(grew / MIB).toFixed(1)} MiB`);
      c.destroy();
      await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
    }
  });
});

// ---------------------------------------------------------------- websocket

test('websocket.compression: a 100 KB command sent compressed (a few hundred bytes on the wire) is processed: decompressed limit 10 × 64 KiB', async () => {
  await withServer(COMPRESSION, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    assert.equal(c.ws.extensions, 'permessage-deflate', 'compression negotiated');
    const rep = await c.connect(await connToken('42'));
    assert.equal(typeof rep.connect?.client, 'string');
    c.send({ id: 2, subscribe: { channel: 'chat:big' } });
    await c.next((m) => m.id === 2);
    const pad = 'x'.repeat(100 * 1000);
    c.send({ id: 3, publish: { channel: 'chat:big', data: { pad } } });
    assert.deepEqual(await c.next((m) => m.id === 3), { id: 3, publish: {} });
    const pub = await c.next((m) => m.push?.pub !== undefined);
    assert.equal(pub.push.pub.data.pad, pad);
    c.close();
  });
});

test('websocket.compression: the same 100 KB sent uncompressed is over message_size_limit on the wire → 1009', async () => {
  await withServer(COMPRESSION, async (srv) => {
    const command = JSON.stringify({ id: 1, connect: { data: { pad: 'x'.repeat(100 * 1000) } } });
    // Compression negotiated, this message sent without it.
    const a = await RawClient.open(srv.wsUrl);
    assert.equal(a.ws.extensions, 'permessage-deflate');
    a.ws.send(command, { compress: false });
    assert.equal((await closedWithin(a)).code, 1009);
    // A client that did not negotiate compression.
    const b = await RawClient.open(srv.wsUrl, { perMessageDeflate: false });
    assert.equal(b.ws.extensions, '');
    b.send(command);
    assert.equal((await closedWithin(b)).code, 1009);
    await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
  });
});

test('websocket.compression: a compressed message inflating past 10 × message_size_limit → 1009', async () => {
  await withServer(COMPRESSION, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send(JSON.stringify({ id: 1, connect: { data: { pad: 'x'.repeat(640 * KIB) } } }));
    assert.equal((await closedWithin(c)).code, 1009);
  });
});

test('websocket.decompressed_message_size_limit set: it applies instead of 10 × message_size_limit', async () => {
  await withServer({ ...COMPRESSION, websocket: { compression: true, message_size_limit: 1024, decompressed_message_size_limit: 2048 } }, async (srv) => {
    const small = await RawClient.open(srv.wsUrl);
    const rep = await small.connect(await connToken('42'), { data: { pad: 'x'.repeat(1500) } });
    assert.equal(typeof rep.connect?.client, 'string', 'a 1.5 KB command compressed within 1 KiB is accepted');
    small.close();
    const big = await RawClient.open(srv.wsUrl);
    big.send(JSON.stringify({ id: 1, connect: { data: { pad: 'x'.repeat(4096) } } }));
    assert.equal((await closedWithin(big)).code, 1009, '4 KB inflated is over 2048, though under 10 × 1024');
  });
});

test('websocket.compression: the wire limit adds up the fragments of a message; control frames between them do not count; headers split across writes are read', async () => {
  await withServer(COMPRESSION, async (srv) => {
    // Three uncompressed fragments of 30 000 bytes: 90 000 on the wire, over 64 KiB.
    const over = await RawSocket.open(srv.port, WS_PATH, true);
    const part = Buffer.alloc(30_000, 0x20);
    await over.send(frame(OP_TEXT, part, { fin: false }));
    await over.send(frame(OP_CONTINUATION, part, { fin: false }));
    await over.send(frame(OP_CONTINUATION, part));
    assert.equal(await over.closeCode(), 1009);
    over.destroy();

    // 2 × 30 000 bytes with a 125-byte ping between, every header written a byte at a time: a
    // 60 000-byte connect command, under the limit, answered.
    const ok = await RawSocket.open(srv.port, WS_PATH, true);
    const command = Buffer.from(JSON.stringify({ id: 1, connect: { token: await connToken('42'), data: { pad: 'x'.repeat(59_000) } } }));
    const pieces: [number, Buffer, boolean][] = [
      [OP_TEXT, command.subarray(0, 30_000), false],
      [OP_PING, Buffer.alloc(125, 0x70), true],
      [OP_CONTINUATION, command.subarray(30_000), true],
    ];
    for (const [opcode, payload, fin] of pieces) {
      const f = frame(opcode, payload, { fin });
      const headerEnd = headerLength(payload.length);
      for (let i = 0; i < headerEnd; i++) {
        await ok.send(f.subarray(i, i + 1));
        await new Promise((r) => setImmediate(r));
      }
      await ok.send(f.subarray(headerEnd));
    }
    const reply = JSON.parse(RawSocket.text(await ok.next((f) => f.opcode === OP_TEXT)));
    assert.equal(reply.id, 1);
    assert.equal(typeof reply.connect?.client, 'string', JSON.stringify(reply));
    assert.ok(ok.frames.some((f) => f.opcode === 0xa), 'the ping was answered');
    ok.destroy();
  });
});

test('websocket.message_size_limit 0 is 64 KiB, as in Centrifugo (not "no limit"), with compression or without', async () => {
  for (const compression of [false, true]) {
    await withServer({ ...COMPRESSION, websocket: { compression, message_size_limit: 0 } }, async (srv) => {
      const c = await RawClient.open(srv.wsUrl, { perMessageDeflate: false });
      const rep = await c.connect(await connToken('42'));
      assert.equal(typeof rep.connect?.client, 'string', `compression ${compression}: ${JSON.stringify(rep)}`);
      c.send({ id: 2, rpc: { data: { pad: 'x'.repeat(64 * KIB) } } });
      assert.equal((await closedWithin(c)).code, 1009, `compression ${compression}`);
    });
  }
});

// ---------------------------------------------------------------- uni_websocket

test('uni_websocket.compression: a 100 KB ConnectRequest sent compressed connects and the pushes come compressed; sent uncompressed → 1009', async () => {
  await withServer(COMPRESSION, async (srv) => {
    const request = Buffer.from(JSON.stringify({ token: await connToken('42'), data: { pad: 'x'.repeat(100 * 1000) } }));
    const c = await RawSocket.open(srv.port, UNI_PATH, true);
    assert.match(c.extensions, /^permessage-deflate/);
    await c.send(frame(OP_TEXT, await compressed([request]), { rsv1: true }));
    const first = await c.next((f) => f.opcode === OP_TEXT);
    assert.equal(first.rsv1, true, 'the connect push is compressed');
    assert.equal(typeof JSON.parse(RawSocket.text(first)).connect?.client, 'string');
    c.destroy();

    const raw = await RawSocket.open(srv.port, UNI_PATH, true);
    await raw.send(frame(OP_TEXT, request));
    assert.equal(await raw.closeCode(), 1009);
    raw.destroy();
    await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
  });
});

test('uni_websocket.decompressed_message_size_limit: a ConnectRequest inflating past it → 1009', async () => {
  await withServer({ ...COMPRESSION, uni_websocket: { enabled: true, compression: true, decompressed_message_size_limit: 4096 } }, async (srv) => {
    const c = await RawClient.open(uniUrl(srv));
    c.send({ token: await connToken('42'), data: { pad: 'x'.repeat(8192) } });
    assert.equal((await closedWithin(c)).code, 1009);
    await until(() => srv.app.node.hub.numConnections === 0, 'no session left');
  });
});
