// The few Kubernetes API calls the node simulator makes, as plain HTTPS with the client certificate
// from a kubeconfig (undici; @kubernetes/client-node is deliberately not needed here).
import { readFileSync } from 'node:fs'
import { Agent, request } from 'undici'
import { parse } from 'yaml'

export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: { name: string, namespace?: string, uid?: string, resourceVersion?: string, labels?: Record<string, string>, deletionTimestamp?: string, deletionGracePeriodSeconds?: number, [k: string]: unknown }
  spec?: any
  status?: any
}

export interface WatchEvent<T = KubeObject> { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR', object: T }

export class KubeError extends Error {
  constructor(readonly status: number, readonly body: string, what: string) {
    super(`${what}: HTTP ${status} ${body.slice(0, 500)}`)
  }
}

interface Kubeconfig {
  clusters: { name: string, cluster: { server: string, 'certificate-authority-data'?: string, 'certificate-authority'?: string } }[]
  users: { name: string, user: { 'client-certificate-data'?: string, 'client-key-data'?: string, 'client-certificate'?: string, 'client-key'?: string } }[]
  contexts: { name: string, context: { cluster: string, user: string } }[]
  'current-context': string
}

function dataOrFile(data: string | undefined, file: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64')
  if (file) return readFileSync(file)
  return undefined
}

export class KubeClient {
  readonly server: string
  /** The cluster's CA (PEM), as a pod's ServiceAccount volume carries it. */
  readonly caPem: Buffer | undefined
  private readonly agent: Agent

  constructor(kubeconfigPath: string) {
    const kc = parse(readFileSync(kubeconfigPath, 'utf8')) as Kubeconfig
    const ctx = kc.contexts.find(c => c.name === kc['current-context'])?.context
    if (!ctx) throw new Error(`kubeconfig ${kubeconfigPath}: no current context`)
    const cluster = kc.clusters.find(c => c.name === ctx.cluster)!.cluster
    const user = kc.users.find(u => u.name === ctx.user)!.user
    this.server = cluster.server.replace(/\/$/, '')
    this.caPem = dataOrFile(cluster['certificate-authority-data'], cluster['certificate-authority'])
    this.agent = new Agent({
      connect: {
        ca: this.caPem,
        cert: dataOrFile(user['client-certificate-data'], user['client-certificate']),
        key: dataOrFile(user['client-key-data'], user['client-key']),
      },
      // Watches stay open for minutes with long quiet stretches.
      bodyTimeout: 0,
      headersTimeout: 30_000,
    })
  }

  async call<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const res = await request(this.server + path, {
      dispatcher: this.agent,
      method: method as 'GET',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.body.text()
    if (res.statusCode >= 300) throw new KubeError(res.statusCode, text, `${method} ${path}`)
    return (text ? JSON.parse(text) : undefined) as T
  }

  get<T = any>(path: string): Promise<T> { return this.call<T>('GET', path) }
  create<T = any>(path: string, body: unknown): Promise<T> { return this.call<T>('POST', path, body) }
  replace<T = any>(path: string, body: unknown): Promise<T> { return this.call<T>('PUT', path, body) }
  delete<T = any>(path: string, body?: unknown): Promise<T> { return this.call<T>('DELETE', path, body) }
  mergePatch<T = any>(path: string, patch: unknown): Promise<T> { return this.call<T>('PATCH', path, patch, 'application/merge-patch+json') }
  strategicPatch<T = any>(path: string, patch: unknown): Promise<T> { return this.call<T>('PATCH', path, patch, 'application/strategic-merge-patch+json') }

  /**
   * One watch request from `resourceVersion`: calls `onEvent` for each event until the server ends the
   * stream (timeoutSeconds) or `signal` aborts. Returns the last resourceVersion seen; throws
   * KubeError(410) when the version is too old and the caller must list again.
   */
  async watchOnce(path: string, resourceVersion: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<string> {
    const sep = path.includes('?') ? '&' : '?'
    const res = await request(`${this.server}${path}${sep}watch=1&allowWatchBookmarks=true&timeoutSeconds=120&resourceVersion=${resourceVersion}`, {
      dispatcher: this.agent, method: 'GET', headers: { accept: 'application/json' }, signal,
    })
    if (res.statusCode !== 200) throw new KubeError(res.statusCode, await res.body.text(), `WATCH ${path}`)
    let rv = resourceVersion
    let buf = ''
    try {
      for await (const chunk of res.body) {
        buf += chunk.toString()
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim()
          buf = buf.slice(nl + 1)
          if (!line) continue
          const ev = JSON.parse(line) as WatchEvent
          if (ev.type === 'ERROR') {
            const status = ev.object as unknown as { code?: number, message?: string }
            throw new KubeError(status.code ?? 500, status.message ?? 'watch error', `WATCH ${path}`)
          }
          if (ev.object.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion
          if (ev.type !== 'BOOKMARK') onEvent(ev)
        }
      }
    } catch (err) {
      if (signal.aborted) return rv
      throw err
    }
    return rv
  }

  close(): Promise<void> { return this.agent.close() }
}
