/** Metrics: Prometheus exposition of stream, session and process figures. */
export { Metrics } from './metrics.js';
export type { MetricsSources, ObservedSession, ObservedViewer } from './metrics.js';
