// Prometheus metrics (prom-client). Label objects are created at registration time, never per request.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

export class Metrics {
  readonly registry = new Registry()
  readonly isolations = new Counter({ name: 'kiln_isolations_total', help: 'Functions moved to isolated nodes', labelNames: ['function', 'by'], registers: [this.registry] })
  readonly releases = new Counter({ name: 'kiln_isolation_releases_total', help: 'Functions released from isolation', labelNames: ['function', 'by'], registers: [this.registry] })
  readonly isolated = new Gauge({ name: 'kiln_function_isolated', help: '1 while a function is isolated', labelNames: ['function'], registers: [this.registry] })
  readonly crashes = new Counter({ name: 'kiln_instance_crashes_total', help: 'Instances that ended on their own', labelNames: ['runtime', 'reason'], registers: [this.registry] })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kiln_process_' })
  }
}
