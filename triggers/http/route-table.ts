// The HTTP trigger source: user routes (method, path with params, optional host) resolved with
// find-my-way, fastify's own router. The table is rebuilt from the trigger store on every change (rare),
// never per request; the data plane consults it (router/route-match.ts) for requests outside `/fn/`.
import FindMyWay from 'find-my-way'
import { refOfMeta } from '../../core/refs.js'
import type { ResourceStore } from '../../core/store/resource-store.js'
import type { HTTPTriggerResource } from '../../core/types.js'
import type { RouteMatch, RouteMatcher } from '../../router/route-match.js'
import type { TriggerSource } from '../source.js'

type Handler = (...args: unknown[]) => void
const noop: Handler = () => undefined
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

export class RouteTable implements TriggerSource, RouteMatcher {
  readonly kind = 'http'
  private router = FindMyWay()
  private unwatch: (() => void) | undefined

  constructor(private readonly store: ResourceStore<HTTPTriggerResource>) {}

  async start(): Promise<void> {
    this.rebuild()
    this.unwatch = this.store.watch(() => this.rebuild())
  }

  async stop(): Promise<void> { this.unwatch?.() }

  async reconcile(): Promise<void> { this.rebuild() }

  rebuild(): void {
    const r = FindMyWay()
    for (const t of this.store.list()) {
      const methods = t.spec.method === 'ANY' ? METHODS : [t.spec.method]
      const opts = t.spec.host ? { constraints: { host: t.spec.host } } : {}
      for (const m of methods) {
        try {
          r.on(m as 'GET', t.spec.path, opts, noop, t)
        } catch {
          // A clash with an existing route was refused at creation; a stale file cannot break the table.
        }
      }
    }
    this.router = r
  }

  /** The existing route (of any namespace) this one would clash with, if any (find-my-way refuses duplicates). */
  conflicts(t: HTTPTriggerResource): HTTPTriggerResource | undefined {
    const add = (r: ReturnType<typeof FindMyWay>, x: HTTPTriggerResource) => {
      for (const m of x.spec.method === 'ANY' ? METHODS : [x.spec.method]) {
        r.on(m as 'GET', x.spec.path, x.spec.host ? { constraints: { host: x.spec.host } } : {}, noop)
      }
    }
    const mine = refOfMeta(t.metadata)
    for (const existing of this.store.list()) {
      if (refOfMeta(existing.metadata) === mine) continue
      const r = FindMyWay()
      try {
        add(r, existing)
        add(r, t)
      } catch {
        return existing
      }
    }
    return undefined
  }

  match(method: string, url: string, host: string | undefined): RouteMatch | undefined {
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    const found = this.router.find(method as 'GET', path, host ? { host: host.replace(/:\d+$/, '') } : {})
    if (!found) return undefined
    return { trigger: found.store as HTTPTriggerResource, params: found.params }
  }
}
