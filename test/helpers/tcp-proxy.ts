/**
 * A TCP proxy for fault tests: forwards every connection to a target, and can hold one, so that
 * nothing passes either way while both sockets stay open, as with a link that a middlebox stopped
 * forwarding without a reset. What a held connection receives meanwhile is passed on when it is
 * released, in order.
 */
import net from 'node:net';

export interface ProxiedConnection {
  /** The first bytes the client sent (up to 64 KiB), to tell connections apart by their commands. */
  readonly clientBytes: () => string;
  /** Stops forwarding in both directions; the sockets stay open. */
  hold(): void;
  /** Forwards again, first what arrived while held. */
  release(): void;
  /** Whether either side closed it (the proxy then closes the other). */
  closed(): boolean;
}

export interface TcpProxy {
  readonly port: number;
  /** The connections made so far, open or closed, in order. */
  readonly connections: readonly ProxiedConnection[];
  /**
   * Holds the next connection whose client sends a chunk matching `pattern`, before passing that
   * chunk on; resolves with it.
   */
  holdOn(pattern: RegExp): Promise<ProxiedConnection>;
  close(): Promise<void>;
}

const KEEP_CLIENT_BYTES = 64 * 1024;

interface Trap {
  pattern: RegExp;
  sprung(link: ProxiedConnection): void;
}

class Link implements ProxiedConnection {
  private held = false;
  private readonly parked: Array<{ to: net.Socket; chunk: Buffer }> = [];
  private seen = '';

  constructor(
    private readonly client: net.Socket,
    private readonly server: net.Socket,
    traps: Trap[],
  ) {
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (this.seen.length < KEEP_CLIENT_BYTES) this.seen += text;
      const i = traps.findIndex((t) => t.pattern.test(text));
      if (i >= 0) {
        this.hold();
        traps.splice(i, 1)[0]?.sprung(this);
      }
      this.pass(server, chunk);
    });
    server.on('data', (chunk: Buffer) => this.pass(client, chunk));
    const end = (): void => {
      client.destroy();
      server.destroy();
    };
    for (const s of [client, server]) {
      s.on('error', end);
      s.on('close', end);
    }
  }

  clientBytes = (): string => this.seen;

  closed(): boolean {
    return this.client.destroyed || this.server.destroyed;
  }

  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    for (const { to, chunk } of this.parked.splice(0)) if (!to.destroyed) to.write(chunk);
  }

  private pass(to: net.Socket, chunk: Buffer): void {
    if (this.held) this.parked.push({ to, chunk });
    else if (!to.destroyed) to.write(chunk);
  }
}

/** Listens on a free port of 127.0.0.1 and forwards to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const connections: Link[] = [];
  const traps: Trap[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    connections.push(new Link(client, upstream, traps));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tcp proxy: no port');
  return {
    port: address.port,
    connections,
    holdOn: (pattern) => new Promise((resolve) => traps.push({ pattern, sprung: resolve })),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
