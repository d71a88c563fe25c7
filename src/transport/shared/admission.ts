/**
 * Admission of new connections, shared by every transport: `client.connection_limit` (open
 * connections on this node) and `client.connection_rate_limit` (new connections per second on this
 * node). Refused requests get HTTP 503, which SDKs treat as a reason to back off and retry.
 * Zero disables either check.
 */
export class Admission {
  private windowStart = 0;
  private inWindow = 0;

  constructor(
    private readonly connectionLimit: number,
    private readonly rateLimitPerSecond: number,
    private readonly openConnections: () => number,
    /** Told of each connection refused by the connection limit (for metrics). */
    private readonly limitReached: () => void = () => {},
    /** Told of every refusal with its reason (for the log); every transport admits through here. */
    private readonly refused: (reason: string) => void = () => {},
  ) {}

  /** Returns why the connection is refused, or undefined to admit it (and count it). */
  check(now = Date.now()): string | undefined {
    if (this.connectionLimit > 0 && this.openConnections() >= this.connectionLimit) {
      this.limitReached();
      this.refused('connection limit reached');
      return 'connection limit reached';
    }
    if (this.rateLimitPerSecond > 0) {
      if (now - this.windowStart >= 1000) {
        this.windowStart = now;
        this.inWindow = 0;
      }
      if (this.inWindow >= this.rateLimitPerSecond) {
        this.refused('connection rate limit reached');
        return 'connection rate limit reached';
      }
      this.inWindow++;
    }
    return undefined;
  }
}
