// /v1/functions/:name/{versions,rollback,traffic,aliases,canary}: a function's immutable versions and
// which of them serve it — the main split, aliases, a progressive canary (docs/releases.md). Every
// change that moves traffic answers once this process's executor applied it (the versions it names
// warm, the routes switched), so `kiln fn rollback` returns when the old version serves.
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { KilnError } from '../core/errors.js'
import { refOf } from '../core/refs.js'
import type { Author } from '../core/releases/releases.js'
import { describeRef, notFound } from '../core/store/resource-store.js'
import { ALIAS_PATTERN, type FunctionTrafficResource, type FunctionVersionResource } from '../core/types.js'
import { validateValue } from '../core/validate.js'
import type { ControlContext } from './context.js'

/** `POST /v1/functions/:name/canary`. */
export const CanaryBody = Type.Object({
  to: Type.Integer({ minimum: 1, description: 'the version to move traffic to' }),
  step: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'percent added after each healthy interval (default 10)' })),
  intervalMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 86_400_000, description: 'how long each step is measured (default 60000)' })),
  maxErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of 5xx answers above which it rolls back (default 0.01)' })),
  maxP99Ms: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'p99 latency above which it rolls back' })),
  minRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'requests an interval needs before it is judged (default 10)' })),
}, { additionalProperties: false })
export type CanaryBody = Static<typeof CanaryBody>

export const RollbackBody = Type.Object({
  to: Type.Optional(Type.Integer({ minimum: 1, description: 'the version to serve (default: the newest one older than the version serving now)' })),
}, { additionalProperties: false })

/** Who made a change: the token's public id and name. */
export function authorOf(req: FastifyRequest): Author {
  const who = req.kiln.identity
  return { id: who.id, ...(who.name ? { name: who.name } : {}) }
}

export async function releaseRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  type Named = { Params: { name: string } }

  const refOfReq = (req: FastifyRequest<Named>) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    if (!c.functions.get(ref)) throw notFound('Function', ref)
    return ref
  }

  /** A version as listed: the stored record with where it serves now. */
  const versionView = (v: FunctionVersionResource, t: FunctionTrafficResource | undefined) => {
    const n = v.spec.version
    const aliases = Object.entries(t?.spec.aliases ?? {}).filter(([, s]) => s.targets.some((x) => x.version === n && x.weight > 0)).map(([a]) => a)
    return { ...v, status: { weight: t?.spec.traffic.targets.find((x) => x.version === n)?.weight ?? 0, aliases } }
  }

  const trafficView = (ref: string) => {
    const t = c.releases.traffic(ref)
    if (!t) throw new KilnError('KILN_ERR_VERSION_NOT_FOUND', `function ${describeRef(ref)} has no versions yet`)
    return { ...t, status: { latestVersion: c.releases.latest(ref), live: c.live.status(ref)?.versions } }
  }

  app.get<Named>('/functions/:name/versions', async (req) => {
    const ref = refOfReq(req)
    const t = c.releases.traffic(ref)
    return c.releases.versions(ref).map((v) => versionView(v, t))
  })

  app.get<{ Params: { name: string; version: string } }>('/functions/:name/versions/:version', async (req) => {
    const ref = refOfReq(req)
    const n = Number(req.params.version)
    const v = Number.isSafeInteger(n) && n > 0 ? c.releases.version(ref, n) : undefined
    if (!v) throw new KilnError('KILN_ERR_VERSION_NOT_FOUND', `function ${describeRef(ref)} has no version ${req.params.version}`)
    return versionView(v, c.releases.traffic(ref))
  })

  app.post<Named>('/functions/:name/rollback', async (req) => {
    const ref = refOfReq(req)
    const body = validateValue<{ to?: number }>(RollbackBody, req.body ?? {}, 'rollback')
    const r = await c.releases.rollback(ref, body.to)
    await c.live.whenApplied(ref)
    return { ...r, traffic: trafficView(ref) }
  })

  app.get<Named>('/functions/:name/traffic', async (req) => trafficView(refOfReq(req)))

  app.put<Named>('/functions/:name/traffic', async (req) => {
    const ref = refOfReq(req)
    await c.releases.setSplit(ref, req.body)
    await c.live.whenApplied(ref)
    return trafficView(ref)
  })

  app.put<{ Params: { name: string; alias: string } }>('/functions/:name/aliases/:alias', async (req) => {
    const ref = refOfReq(req)
    const alias = req.params.alias
    if (!ALIAS_PATTERN.test(alias) || alias.length > 63) throw new KilnError('KILN_ERR_VALIDATION', `alias "${alias}": lower-case letters, digits and dashes, with at least one letter (a number names a version)`)
    await c.releases.setSplit(ref, req.body, alias)
    await c.live.whenApplied(ref)
    return trafficView(ref)
  })

  app.delete<{ Params: { name: string; alias: string } }>('/functions/:name/aliases/:alias', async (req) => {
    const ref = refOfReq(req)
    await c.releases.deleteAlias(ref, req.params.alias, (fnRef, alias) => {
      const users = c.triggers.list().filter((t) => t.spec.alias === alias && t.spec.function !== undefined && refOf(t.metadata.namespace, t.spec.function) === fnRef)
      return users.length ? users.map((t) => `route ${t.metadata.name}`).join(', ') : undefined
    })
    await c.live.whenApplied(ref)
    return trafficView(ref)
  })

  app.post<Named>('/functions/:name/canary', async (req, reply) => {
    const ref = refOfReq(req)
    const b = validateValue<CanaryBody>(CanaryBody, req.body ?? {}, 'canary')
    const canary = await c.releases.startCanary(ref, {
      to: b.to, step: b.step ?? 10, intervalMs: b.intervalMs ?? 60_000, maxErrorRate: b.maxErrorRate ?? 0.01,
      ...(b.maxP99Ms !== undefined ? { maxP99Ms: b.maxP99Ms } : {}), ...(b.minRequests !== undefined ? { minRequests: b.minRequests } : {}),
    })
    // The new version's share of the warm set is ready before this answers: its first request is warm.
    await c.live.whenApplied(ref)
    return reply.status(201).send(canary)
  })

  app.get<Named>('/functions/:name/canary', async (req) => {
    const ref = refOfReq(req)
    const canary = c.releases.traffic(ref)?.spec.canary
    if (!canary) throw new KilnError('KILN_ERR_CANARY_NOT_FOUND', `function ${describeRef(ref)} has had no canary`)
    return canary
  })

  app.delete<Named>('/functions/:name/canary', async (req) => {
    const ref = refOfReq(req)
    const canary = await c.releases.abortCanary(ref)
    await c.live.whenApplied(ref)
    return canary
  })
}
