// The node agents' endpoint on the executor: `POST /internal/node-load` stores a node's report
// (cluster/kubernetes/pod-loads.ts), `GET /internal/node-load` lists the latest of each node.
import type { FastifyInstance } from 'fastify'
import type { NodeLoadReport, PodLoads } from '../../cluster/kubernetes/pod-loads.js'

export type { NodeLoadReport, PodLoad } from '../../cluster/kubernetes/pod-loads.js'

export function nodeLoadRoutes(loads: PodLoads) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: NodeLoadReport }>('/node-load', async (req, reply) => {
      const b = req.body
      if (!b || typeof b.node !== 'string' || !Array.isArray(b.pods)) return reply.status(400).send({ error: 'KILN_ERR_BAD_REQUEST', message: 'expected {node, at, pods[]}' })
      loads.report({ node: b.node, at: Number(b.at) || Date.now(), pods: b.pods })
      return reply.status(204).send()
    })
    app.get('/node-load', async () => loads.all())
  }
}
