/**
 * socket.io clients for the load generator (bench/loadgen.mjs), the counterpart of its Rotor
 * `Conn`: `socket.io-client` on the WebSocket transport only (no long-polling handshake), one
 * Manager per connection (`forceNew`), no automatic reconnection (a dropped connection counts as
 * an unexpected disconnect, as with Rotor's clients). The connect carries the same kind of HS256
 * JWT Rotor's connect command does, in `auth.token` (bench/socketio-server.mjs checks it); the
 * subscription is the `subscribe` event, acknowledged once the socket joined the channel's room.
 */
import { io } from 'socket.io-client';

export class SioConn {
  /**
   * @param {string} url the server's http:// origin
   * @param {string} token
   * @param {{onPublication(data: unknown): void, onUnexpectedClose(reason: string): void, onGone(conn: SioConn): void}} hooks
   *   `onPublication`: the `data` of every `pub` event; `onUnexpectedClose`: the connection went
   *   away without `close()`; `onGone`: the connection is closed, either way.
   */
  constructor(url, token, hooks) {
    this.closing = false;
    this.hooks = hooks;
    this.socket = io(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 20000,
      auth: { token },
    });
    this.socket.on('pub', (msg) => hooks.onPublication(msg?.data));
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
