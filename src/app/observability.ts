/**
 * The operator's endpoints on the internal listener: `/metrics` (Prometheus, with
 * `prometheus.enabled`), `/health` (readiness: 503 with the reasons while an engine part cannot
 * reach its server), `/health/live` (liveness: 200 while the process answers at all) and
 * `/debug/pprof` (heap snapshots and CPU profiles, with `debug.enabled`; debug-endpoints.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/schema.js';
import type { HttpListener } from '../http/server.js';
import { NamespaceLabels } from '../metrics/labels.js';
import { PrometheusMetrics } from '../metrics/prometheus.js';
import type { Logger } from '../util/logger.js';
import { mountDebug } from './debug-endpoints.js';

/** The readiness path's suffix for liveness: `/health` → `/health/live`. */
export const LIVENESS_SUFFIX = '/live';

/** Prometheus metrics when `prometheus.enabled`, else undefined: the node keeps `NoMetrics`, whose frame counters are no-ops. */
export function createPrometheus(config: Readonly<Config>): PrometheusMetrics | undefined {
  if (!config.prometheus.enabled) return undefined;
  const ch = config.channel;
  return new PrometheusMetrics({
    namespaces: new NamespaceLabels(
      ch.namespaces.map((n) => n.name),
      ch.namespace_boundary,
      ch.private_prefix,
    ),
    instrumentHttp: config.prometheus.instrument_http_handlers,
    recoveredPublications: config.prometheus.recovered_publications_histogram,
    connectionLimit: config.client.connection_limit,
  });
}

export interface ObservabilityParts {
  prometheus: PrometheusMetrics | undefined;
  /** Reasons the node cannot serve now; empty when it can. */
  unhealthy(): string[];
  log: Logger;
}

/** Mounts the enabled endpoints on `internal`; with `instrument_http_handlers`, counts responses of both listeners. */
export function mountObservability(config: Readonly<Config>, internal: HttpListener, external: HttpListener, parts: ObservabilityParts): void {
  const prom = parts.prometheus;
  if (prom !== undefined) {
    internal.route(config.prometheus.handler_prefix, (_req, res) => serveMetrics(prom, res, parts.log));
    if (prom.instrumentsHttp) {
      const observe = (path: string, method: string, status: number): void => prom.httpRequest(path, method, status);
      internal.observeResponses(observe);
      if (external !== internal) external.observeResponses(observe);
    }
  }
  if (config.debug.enabled) mountDebug(internal, config.debug.handler_prefix, parts.log);
  if (config.health.enabled) {
    const prefix = config.health.handler_prefix;
    internal.route(prefix, (_req, res) => {
      const reasons = parts.unhealthy();
      res.writeHead(reasons.length === 0 ? 200 : 503, { 'Content-Type': 'application/json' });
      res.end(reasons.length === 0 ? '{}' : JSON.stringify({ error: 'unhealthy', reasons }));
    });
    // Answered by the event loop alone: it says the process runs, whatever its engines do.
    internal.route(`${prefix.replace(/\/+$/, '')}${LIVENESS_SUFFIX}`, (_req: IncomingMessage, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  }
}

async function serveMetrics(prom: PrometheusMetrics, res: ServerResponse, log: Logger): Promise<void> {
  let text: string;
  try {
    text = await prom.metricsText();
  } catch (err) {
    log.error({ err }, 'collecting metrics failed');
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end('collecting metrics failed\n');
    return;
  }
  res.writeHead(200, { 'Content-Type': prom.contentType });
  res.end(text);
}
