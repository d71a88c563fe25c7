/**
 * A raw protocol client over `ws` for tests that need exact frames: what the SDK hides (close
 * codes, malformed frames, pings) is asserted here.
 */
import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

export class RawClient {
  readonly frames: string[] = [];
  readonly binaryFrames: Buffer[] = [];
  readonly closed: Promise<Closed>;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.binaryFrames.push(data);
      else this.frames.push(data.toString('utf8'));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, opts: WebSocket.ClientOptions & { protocols?: string | string[] } = {}): Promise<RawClient> {
    const ws = new WebSocket(url, opts.protocols, opts);
    const c = new RawClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
    });
  }

  send(obj: unknown): void {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /** All JSON messages received so far (frames split on newlines). */
  messages(): any[] {
    return this.frames.flatMap((f) => f.split('\n')).filter((l) => l !== '').map((l) => JSON.parse(l));
  }

  /** Waits for a message matching `pred` and returns it. */
  async next(pred: (m: any) => boolean, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.messages().find(pred);
      if (m !== undefined) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends a connect command and waits for its reply. */
  async connect(token: string, extra: Record<string, unknown> = {}): Promise<any> {
    this.send({ id: 1, connect: { token, ...extra } });
    return this.next((m) => m.id === 1);
  }

  close(): void {
    this.ws.close();
  }
}
