// What the node agents report (cli/serve/node-agent.ts): each runtime pod's cgroup counters, per node,
// kept as the latest report. `POST /internal/node-load` stores one; `GET /internal/node-load` lists them.
import type { FastifyInstance } from 'fastify'

export interface PodLoad {
  pod: string
  uid: string
  function?: string
  instance?: string
  sample: Record<string, number | undefined>
}
export interface NodeLoadReport { node: string; at: number; pods: PodLoad[] }

export class NodeLoads {
  private readonly latest = new Map<string, NodeLoadReport>()

  report(r: NodeLoadReport): void { this.latest.set(r.node, r) }
  all(): NodeLoadReport[] { return [...this.latest.values()] }
  /** The latest sample of one pod, whichever node reported it. */
  pod(name: string): PodLoad | undefined {
    for (const r of this.latest.values()) for (const p of r.pods) if (p.pod === name) return p
    return undefined
  }

  async routes(app: FastifyInstance): Promise<void> {
    app.post<{ Body: NodeLoadReport }>('/node-load', async (req, reply) => {
      const b = req.body
      if (!b || typeof b.node !== 'string' || !Array.isArray(b.pods)) return reply.status(400).send({ error: 'KILN_ERR_BAD_REQUEST', message: 'expected {node, at, pods[]}' })
      this.report({ node: b.node, at: Number(b.at) || Date.now(), pods: b.pods })
      return reply.status(204).send()
    })
    app.get('/node-load', async () => this.all())
  }
}
