// Where a node agent sends a pod's sample: to the executor replica that claimed the pod (its label
// `kiln.dev/executor` is that executor's pod name), since only that replica holds the instance and
// runs its load monitor; a report through the executor Service would reach one replica at random.
// The replica's address is its pod's IP and `http` port; unclaimed pods, and executors that are not
// pods in the namespace (an all-in-one on a laptop), go to KILN_EXECUTOR_URL.
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node'

const TTL_MS = 60_000

export class ExecutorTargets {
  private readonly cache = new Map<string, { url: string; until: number }>()

  constructor(private readonly api: CoreV1Api, private readonly namespace: string, private readonly fallback: string) {}

  async url(identity: string | undefined): Promise<string> {
    if (!identity) return this.fallback
    const hit = this.cache.get(identity)
    if (hit && hit.until > Date.now()) return hit.url
    let url = this.fallback
    try {
      url = podUrl(await this.api.readNamespacedPod({ name: identity, namespace: this.namespace })) ?? this.fallback
    } catch { /* not a pod here: the Service */ }
    this.cache.set(identity, { url, until: Date.now() + TTL_MS })
    return url
  }

  /** A post to it failed: look it up again next time (the replica may have moved). */
  forget(url: string): void {
    for (const [id, c] of this.cache) if (c.url === url) this.cache.delete(id)
  }
}

function podUrl(p: V1Pod): string | undefined {
  const ip = p.status?.podIP
  if (!ip || p.metadata?.deletionTimestamp) return undefined
  const ports = (p.spec?.containers ?? []).flatMap((c) => c.ports ?? [])
  const port = (ports.find((x) => x.name === 'http') ?? ports[0])?.containerPort
  return port ? `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` : undefined
}
