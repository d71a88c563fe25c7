/**
 * socket.io clients for the load generator (bench/loadgen.mjs), the counterpart of its Rotor
 * `Conn`. Two kinds, the same on the wire (engine.io 4 over WebSocket, socket.io protocol 5), so
 * the server does the same work for either:
 *
 * - `SioConn`: the official `socket.io-client` on the WebSocket transport only (no long-polling
 *   handshake), one Manager per connection (`forceNew`), no automatic reconnection (a dropped
 *   connection counts as an unexpected disconnect, as with Rotor's clients).
 * - `SioRawConn`: the same protocol spoken directly over `ws`, as loadgen's Rotor client speaks
 *   Centrifugo's: the generator's cost per delivery is then close to that of the Rotor client, where
 *   the official client's engine.io + parser + emitter layers cost it more per message.
 *
 * The connect carries the same kind of HS256 JWT Rotor's connect command does, in `auth.token`
 * (bench/socketio-server.mjs checks it); the subscription is the `subscribe` event, acknowledged
 * once the socket joined the channel's room.
 */
import { io } from 'socket.io-client';
import WebSocket from 'ws';

export class SioConn {
  /**
   * @param {string} url the server's http:// origin
   * @param {string} token
   * @param {{onPublication(data: unknown, group: number|undefined): void, onUnexpectedClose(reason: string): void, onGone(conn: SioConn): void}} hooks
   *   `onPublication`: the `data` of every `pub` event, with `group`; `onUnexpectedClose`: the
   *   connection went away without `close()`; `onGone`: the connection is closed, either way.
   * @param {number} [group] passed back with each publication (the generator's per-server latency)
   */
  constructor(url, token, hooks, group) {
    this.closing = false;
    this.group = group;
    this.hooks = hooks;
    this.socket = io(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 20000,
      auth: { token },
    });
    this.socket.on('pub', (msg) => hooks.onPublication(msg?.data, this.group));
    this.socket.on('disconnect', (reason) => this.gone(reason));
  }

  /** Resolves once the socket.io connection (namespace `/`) is established. */
  opened() {
    return new Promise((resolve, reject) => {
      if (this.socket.connected) return resolve();
      this.socket.once('connect', resolve);
      this.socket.once('connect_error', (err) => {
        this.gone('connect_error');
        reject(new Error(`connect_error ${err.message}`));
      });
    });
  }

  /** Joins the channel's room; resolves on the server's ack. */
  async subscribe(channel) {
    const reply = await this.socket.timeout(20000).emitWithAck('subscribe', channel);
    if (reply?.error) throw new Error(`subscribe refused: ${reply.error}`);
  }

  /**
   * Closed with RST, as loadgen closes its Rotor connections (an orderly close leaves the port in
   * TIME_WAIT for a minute, which the next case's connects would pay for).
   */
  close() {
    this.closing = true;
    const raw = this.socket.io.engine?.transport?.ws?._socket;
    if (raw) raw.resetAndDestroy();
    this.socket.disconnect();
    this.gone('io client disconnect');
  }

  gone(reason) {
    if (this.done) return;
    this.done = true;
    if (!this.closing) this.hooks.onUnexpectedClose(reason);
    this.hooks.onGone(this);
  }
}

/**
 * socket.io without socket.io-client. Frames (engine.io packet type, then socket.io's): server
 * `0{…}` open, client `40{"token":…}` connect to `/` with auth, server `40{…}` connected or `44{…}`
 * refused; client `42N["subscribe",C]` an event with ack id N, server `43N[{}]` its ack; server
 * `42["pub",{…}]` a publication; server `2` ping, answered `3`; `1` close.
 */
export class SioRawConn {
  /** Same parameters as SioConn; `url` is the server's http:// origin. */
  constructor(url, token, hooks, group) {
    this.closing = false;
    this.group = group;
    this.hooks = hooks;
    this.token = token;
    this.nextAck = 0;
    this.acks = new Map();
    this.onConnected = undefined;
    const u = new URL(url);
    this.ws = new WebSocket(`ws://${u.host}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.onFrame(data.toString('utf8'));
    });
    this.ws.on('error', () => {});
    this.ws.on('close', () => {
      for (const a of this.acks.values()) a.reject(new Error('closed'));
      this.acks.clear();
      this.onConnected?.reject(new Error('closed before connect'));
      this.gone('transport close');
    });
  }

  opened() {
    return new Promise((resolve, reject) => {
      this.onConnected = { resolve, reject };
    });
  }

  onFrame(text) {
    const eio = text.charCodeAt(0);
    if (eio === 0x34 /* 4 message */) {
      const sio = text.charCodeAt(1);
      if (sio === 0x32 /* 2 event */) {
        let arr;
        try {
          arr = JSON.parse(text.slice(2));
        } catch {
          return;
        }
        if (arr[0] === 'pub') this.hooks.onPublication(arr[1]?.data, this.group);
      } else if (sio === 0x33 /* 3 ack */) {
        const open = text.indexOf('[');
        const id = Number(text.slice(2, open));
        const a = this.acks.get(id);
        if (a === undefined) return;
        this.acks.delete(id);
        const reply = JSON.parse(text.slice(open))[0];
        if (reply?.error) a.reject(new Error(`subscribe refused: ${reply.error}`));
        else a.resolve();
      } else if (sio === 0x30 /* 0 connect */) {
        this.onConnected?.resolve();
        this.onConnected = undefined;
      } else if (sio === 0x34 /* 4 connect error */) {
        this.onConnected?.reject(new Error(`connect_error ${text.slice(2)}`));
        this.onConnected = undefined;
      }
    } else if (eio === 0x32 /* 2 ping */) this.ws.send('3');
    else if (eio === 0x30 /* 0 open */) this.ws.send(`40${JSON.stringify({ token: this.token })}`);
  }

  subscribe(channel) {
    const id = this.nextAck++;
    return new Promise((resolve, reject) => {
      this.acks.set(id, { resolve, reject });
      this.ws.send(`42${id}${JSON.stringify(['subscribe', channel])}`);
    });
  }

  /** Closed with RST, as SioConn.close. */
  close() {
    this.closing = true;
    const raw = this.ws._socket;
    if (raw) raw.resetAndDestroy();
    else this.ws.terminate();
    this.gone('io client disconnect');
  }

  gone(reason) {
    if (this.done) return;
    this.done = true;
    if (!this.closing) this.hooks.onUnexpectedClose(reason);
    this.hooks.onGone(this);
  }
}
