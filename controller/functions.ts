// /v1/functions: create, update (deploy), read with live status, delete, logs.
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { notFound } from '../core/store/resource-store.js'
import type { FunctionResource } from '../core/types.js'
import { validateResource } from '../core/validate.js'
import type { ControlContext } from './context.js'

export async function functionRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  const view = (fn: FunctionResource) => ({ ...fn, status: c.live.status(fn.metadata.name) })

  async function check(body: unknown, name?: string): Promise<FunctionResource> {
    const fn = validateResource<FunctionResource>('Function', body)
    if (name !== undefined && fn.metadata.name !== name) {
      throw new KilnError('KILN_ERR_VALIDATION', `metadata.name: "${fn.metadata.name}" does not match the URL's "${name}"`)
    }
    if (!c.runtimes.get(fn.spec.runtime)) {
      throw new KilnError('KILN_ERR_VALIDATION', `spec.runtime: no runtime "${fn.spec.runtime}" (see \`kiln runtime list\`)`)
    }
    if (!(await c.packages.has(fn.spec.package.sha256))) {
      throw new KilnError('KILN_ERR_VALIDATION', `spec.package.sha256: no package ${fn.spec.package.sha256}; upload it first (kiln fn deploy does)`)
    }
    // Unpack now, so the first request does not pay for it.
    await c.packages.unpacked(fn.spec.package.sha256)
    const s = fn.spec
    if (s.minScale !== undefined && s.maxScale !== undefined && s.minScale > s.maxScale) {
      throw new KilnError('KILN_ERR_VALIDATION', 'spec.minScale: must not exceed spec.maxScale')
    }
    return fn
  }

  app.get('/functions', async () => c.functions.list().map(view))

  app.post('/functions', async (req, reply) => {
    const fn = await c.functions.create(await check(req.body))
    await c.live.whenApplied(fn.metadata.name)
    return reply.status(201).send(view(fn))
  })

  app.put<{ Params: { name: string } }>('/functions/:name', async (req, reply) => {
    const existed = c.functions.get(req.params.name) !== undefined
    const fn = await c.functions.put(await check(req.body, req.params.name))
    // Returns once the new version is the only one served (and, for `warm`, once it is warm).
    await c.live.whenApplied(fn.metadata.name)
    return reply.status(existed ? 200 : 201).send(view(fn))
  })

  app.get<{ Params: { name: string } }>('/functions/:name', async (req) => {
    const fn = c.functions.get(req.params.name)
    if (!fn) throw notFound('Function', req.params.name)
    return view(fn)
  })

  app.delete<{ Params: { name: string } }>('/functions/:name', async (req) => {
    const fn = await c.functions.delete(req.params.name)
    if (!fn) throw notFound('Function', req.params.name)
    return { deleted: fn.metadata.name }
  })

  app.get<{ Params: { name: string }; Querystring: { tail?: string } }>('/functions/:name/logs', async (req) => {
    if (!c.functions.get(req.params.name)) throw notFound('Function', req.params.name)
    const tail = Math.min(Math.max(Number(req.query.tail ?? 200) || 200, 1), 10_000)
    return { function: req.params.name, lines: await c.logs.read(req.params.name, tail) }
  })
}
