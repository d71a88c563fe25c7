/**
 * A listener of Rotor's beside its HTTP ones, on a port of its own (the gRPC server API, the
 * uni_grpc transport). `App` starts it after the node and stops it before the node shuts down.
 */
export interface SideServer {
  /** Binds; resolves with the port it listens on (the one asked for, or the OS's pick for 0). Rejects naming the option of a port it cannot bind. */
  start(): Promise<number>;
  /** Stops accepting and ends open calls; waits at most `timeoutMs`, then drops them. */
  stop(timeoutMs: number): Promise<void>;
}
