// Services for simulated pods, as kube-proxy (its old userspace mode) and cluster DNS would give them:
// for every Service with a selector whose ClusterIP is a loopback address (the test control plane then
// runs with a loopback --service-cluster-ip-range), a TCP listener on ClusterIP:port that passes each
// connection to a Ready pod the selector matches (round robin), at the target port (a number or a
// container port's name). `hosts(namespace)` is what a pod's /etc/hosts gets: each Service's cluster
// DNS names (`name.ns.svc.cluster.local`, `name.ns.svc`, `name.ns`, and `name` within its own namespace).
// The API server reaches webhooks through the same listeners (it dials the ClusterIP).
import { connect, createServer, type Server } from 'node:net'
import { KubeError, type KubeClient, type KubeObject } from './kube-client.js'

export interface Endpoint { ip: string, port: number }

/** The simulator's Ready pods a Service selects, at its target port. */
export type EndpointLookup = (namespace: string, selector: Record<string, string>, targetPort: number | string) => Endpoint[]

const isLoopback = (ip: string | undefined): ip is string => !!ip && /^127\./.test(ip)

interface Listening { key: string, servers: Server[] }

export class ServiceProxy {
  private readonly services = new Map<string, KubeObject>() // ns/name → Service
  private readonly listening = new Map<string, Listening>()
  private readonly rr = new Map<string, number>()
  private readonly abort = new AbortController()
  private loop: Promise<void> | undefined

  constructor(private readonly kube: KubeClient, private readonly endpoints: EndpointLookup, private readonly log: (m: string) => void) {}

  /** Lists the Services (so `hosts` is right from the first pod), then keeps watching. */
  async start(): Promise<void> {
    const list = await this.kube.get<{ metadata: { resourceVersion: string }, items: KubeObject[] }>('/api/v1/services')
    for (const s of list.items) this.sync('ADDED', s)
    this.loop = this.watch(list.metadata.resourceVersion)
  }

  private async watch(rv: string): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        rv = await this.kube.watchOnce('/api/v1/services', rv, (e) => this.sync(e.type, e.object), this.abort.signal)
      } catch (err) {
        if (this.abort.signal.aborted) return
        if (err instanceof KubeError && err.status === 410) {
          const list = await this.kube.get<{ metadata: { resourceVersion: string }, items: KubeObject[] }>('/api/v1/services').catch(() => undefined)
          if (list) { for (const s of list.items) this.sync('ADDED', s); rv = list.metadata.resourceVersion }
        } else this.log(`service watch: ${err}`)
        await new Promise((r) => setTimeout(r, 500))
      }
    }
  }

  private sync(type: string, svc: KubeObject): void {
    const id = `${svc.metadata.namespace}/${svc.metadata.name}`
    if (type === 'DELETED') { this.services.delete(id); this.close(id); return }
    this.services.set(id, svc)
    const ip: string | undefined = svc.spec?.clusterIP
    if (!isLoopback(ip) || !svc.spec?.selector) return
    const key = JSON.stringify([ip, svc.spec.ports])
    if (this.listening.get(id)?.key === key) return
    this.close(id)
    const servers = (svc.spec.ports ?? []).filter((p: any) => (p.protocol ?? 'TCP') === 'TCP').map((p: any) => this.listen(id, ip, p))
    this.listening.set(id, { key, servers })
  }

  private listen(id: string, ip: string, port: { port: number, targetPort?: number | string, name?: string }): Server {
    const server = createServer((client) => {
      const svc = this.services.get(id)
      const eps = svc ? this.endpoints(svc.metadata.namespace!, svc.spec.selector, port.targetPort ?? port.port) : []
      if (eps.length === 0) { client.destroy(); return }
      const n = (this.rr.get(id) ?? 0) % eps.length
      this.rr.set(id, n + 1)
      const ep = eps[n]!
      const upstream = connect({ host: ep.ip, port: ep.port })
      client.pipe(upstream).pipe(client)
      const end = () => { client.destroy(); upstream.destroy() }
      client.on('error', end)
      upstream.on('error', end)
      client.on('close', end)
      upstream.on('close', end)
    })
    server.on('error', (err) => this.log(`service ${id} ${ip}:${port.port}: ${err.message}`))
    server.listen(port.port, ip)
    return server
  }

  private close(id: string): void {
    for (const s of this.listening.get(id)?.servers ?? []) s.close()
    this.listening.delete(id)
  }

  /** /etc/hosts for a pod in `namespace`. */
  hosts(namespace: string): string {
    const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost ip6-loopback']
    for (const s of this.services.values()) {
      const ip: string | undefined = s.spec?.clusterIP
      if (!ip || ip === 'None') continue
      const { name, namespace: ns } = s.metadata
      lines.push(`${ip} ${name}.${ns}.svc.cluster.local ${name}.${ns}.svc ${name}.${ns}${ns === namespace ? ` ${name}` : ''}`)
    }
    return lines.join('\n') + '\n'
  }

  async stop(): Promise<void> {
    this.abort.abort()
    await this.loop
    for (const id of [...this.listening.keys()]) this.close(id)
  }
}
