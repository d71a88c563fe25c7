/**
 * A proxy caller counted in Prometheus (`centrifugo_proxy_*{protocol, type, name}`): in-flight
 * requests, duration, failures (a call that did not get a decision: down, slow, garbage; an
 * error or disconnect answer is a decision and not a failure). Wraps any `ProxyCaller`, so the
 * proxy layer knows nothing of metrics. Subscribe streams count their opening as a call of type
 * `subscribe_stream` (until the first answer, or the failure before it).
 */
import type { BackendSubscribeStream, ProxyAnswer, ProxyCaller, ProxyMethod, ProxyRequests, ProxyResults, SubscribeProxyRequest } from '../proxy/types.js';
import type { PrometheusMetrics, ProxyProtocol } from '../metrics/prometheus.js';

export class MeteredCaller implements ProxyCaller {
  readonly openSubscribeStream?: (request: SubscribeProxyRequest, forwarded: ReadonlyMap<string, string>, bidirectional: boolean) => BackendSubscribeStream;

  constructor(
    private readonly inner: ProxyCaller,
    private readonly protocol: ProxyProtocol,
    /** The `name` label: a `proxies[]` entry's name, else `default`. */
    private readonly label: string,
    private readonly metrics: PrometheusMetrics,
  ) {
    const open = inner.openSubscribeStream;
    if (open !== undefined) this.openSubscribeStream = (request, forwarded, bidirectional) => this.#stream(open.call(inner, request, forwarded, bidirectional));
  }

  get name(): string {
    return this.inner.name;
  }

  async call<M extends ProxyMethod>(method: M, request: ProxyRequests[M], forwarded: ReadonlyMap<string, string>): Promise<ProxyAnswer<ProxyResults[M]>> {
    const m = this.metrics;
    m.proxyStarted(this.protocol, method, this.label);
    const started = performance.now();
    let failed = true;
    try {
      const answer = await this.inner.call(method, request, forwarded);
      failed = false;
      return answer;
    } finally {
      m.proxyFinished(this.protocol, method, this.label, performance.now() - started, failed);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  #stream(s: BackendSubscribeStream): BackendSubscribeStream {
    const m = this.metrics;
    m.proxyStarted(this.protocol, 'subscribe_stream', this.label);
    const started = performance.now();
    let settled = false;
    const settle = (failed: boolean): void => {
      if (settled) return;
      settled = true;
      m.proxyFinished(this.protocol, 'subscribe_stream', this.label, performance.now() - started, failed);
    };
    s.once('response', () => settle(false));
    s.once('end', (err) => settle(err !== undefined));
    return s;
  }
}
