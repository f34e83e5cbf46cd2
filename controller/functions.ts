// /v1/functions: create, update (deploy), read with live status, delete, logs — in the namespace the
// request acts in (controller/authz.ts). A deploy that changes the spec records a new immutable version
// (core/releases) and, unless `?promote=false`, sends it all traffic (releases.ts: the rest).
import type { FastifyInstance } from 'fastify'
import { KilnError } from '../core/errors.js'
import { checkLimits } from '../core/limits.js'
import { parseBytes } from '../core/quantity.js'
import { DEFAULT_NAMESPACE, refOf, refOfMeta } from '../core/refs.js'
import { describeRef, notFound } from '../core/store/resource-store.js'
import type { FunctionResource } from '../core/types.js'
import { validateResource } from '../core/validate.js'
import { checkFunctionSettings } from '../core/function-settings.js'
import type { ControlContext } from './context.js'
import { deleteDependents, dependentsOf, inUse } from './function-dependents.js'
import { checkEntrypoint, entryLanguage } from './entrypoint.js'
import { followLogs } from './log-follow.js'
import { deleted, inNamespace } from './namespaced.js'
import { authorOf } from './releases.js'

const truthy = (v: string | undefined) => v !== undefined && v !== '0' && v !== 'false'

/** The function with its live status, its newest version and what serves it (also what /v1/watch sends). */
export function functionView(c: ControlContext, fn: FunctionResource): FunctionResource & { status: Record<string, unknown> } {
  const ref = refOfMeta(fn.metadata)
  const t = c.releases.traffic(ref)?.spec
  return {
    ...fn,
    status: {
      ...c.live.status(ref),
      latestVersion: c.releases.latest(ref),
      ...(t ? { traffic: t.traffic.targets, ...(t.aliases ? { aliases: Object.fromEntries(Object.entries(t.aliases).map(([a, s]) => [a, s.targets])) } : {}), ...(t.canary?.state === 'running' ? { canary: { to: t.canary.to, weight: t.canary.weight } } : {}) } : {}),
    },
  }
}

export async function functionRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  const view = (fn: FunctionResource) => functionView(c, fn)
  const promoted = (q: { promote?: string }) => q.promote !== 'false' && q.promote !== '0'

  async function check(body: unknown, ns: string, name?: string): Promise<FunctionResource> {
    const fn = inNamespace(validateResource<FunctionResource>('Function', body), ns)
    if (name !== undefined && fn.metadata.name !== name) {
      throw new KilnError('KILN_ERR_VALIDATION', `metadata.name: "${fn.metadata.name}" does not match the URL's "${name}"`)
    }
    if (c.limits) checkLimits(fn.spec.resources, c.limits)
    const rt = c.runtimes.get(fn.spec.runtime)
    if (!rt) {
      throw new KilnError('KILN_ERR_VALIDATION', `spec.runtime: no runtime "${fn.spec.runtime}" (see \`kiln runtime list\`)`)
    }
    if (!(await c.packages.has(fn.spec.package.sha256))) {
      throw new KilnError('KILN_ERR_VALIDATION', `spec.package.sha256: no package ${fn.spec.package.sha256}; upload it first (kiln fn deploy does)`)
    }
    const s = fn.spec
    if (s.minScale !== undefined && s.maxScale !== undefined && s.minScale > s.maxScale) {
      throw new KilnError('KILN_ERR_VALIDATION', 'spec.minScale: must not exceed spec.maxScale')
    }
    checkFunctionSettings(s)
    const r = s.resources
    if (r?.requests?.cpu !== undefined && r.cpu !== undefined && r.requests.cpu > r.cpu) {
      throw new KilnError('KILN_ERR_VALIDATION', 'spec.resources.requests.cpu: must not exceed spec.resources.cpu (the limit)')
    }
    if (r?.requests?.memory !== undefined && r.memory !== undefined && parseBytes(r.requests.memory) > parseBytes(r.memory)) {
      throw new KilnError('KILN_ERR_VALIDATION', 'spec.resources.requests.memory: must not exceed spec.resources.memory (the limit)')
    }
    checkSecrets(fn, ns)
    if (s.private && ns !== DEFAULT_NAMESPACE) checkSandbox(ns)
    // Unpack now, so the first request does not pay for it, and check the entrypoint against the files.
    checkEntrypoint(await c.packages.unpacked(fn.spec.package.sha256), fn.spec.entrypoint, entryLanguage(rt))
    return fn
  }

  /** The secrets a function lists exist in its namespace, with the keys its env takes from them. */
  function checkSecrets(fn: FunctionResource, ns: string): void {
    const s = fn.spec
    for (const name of s.secrets ?? []) {
      if (!c.secrets.get(refOf(ns, name))) throw new KilnError('KILN_ERR_VALIDATION', `spec.secrets: no secret ${describeRef(refOf(ns, name))} (create it with \`kiln secret create\`)`)
    }
    const seen = new Set<string>()
    for (const e of s.secretEnv ?? []) {
      const info = c.secrets.get(refOf(ns, e.secret))
      if (!info) throw new KilnError('KILN_ERR_VALIDATION', `spec.secretEnv: no secret ${describeRef(refOf(ns, e.secret))} (create it with \`kiln secret create\`)`)
      if (!info.keys.some((k) => k.key === e.key)) throw new KilnError('KILN_ERR_VALIDATION', `spec.secretEnv: secret "${e.secret}" has no key "${e.key}" (its keys: ${info.keys.map((k) => k.key).join(', ')})`)
      if (seen.has(e.env) || (s.env && e.env in s.env)) throw new KilnError('KILN_ERR_VALIDATION', `spec.secretEnv: ${e.env} is set twice`)
      seen.add(e.env)
    }
  }

  /** Private functions outside `default` need the whole sandbox, unless the namespace opted out. */
  function checkSandbox(ns: string): void {
    const missing = c.protections.missing()
    if (missing.length === 0 || c.namespaces.get(ns)?.spec.allowPrivateWithoutSandbox) return
    throw new KilnError('KILN_ERR_FORBIDDEN', `a private function in namespace "${ns}" needs the sandbox, and this machine lacks: ${missing.map((m) => `${m.name} (${m.detail})`).join('; ')}`,
      { hint: `an admin may allow it anyway: \`kiln ns create ${ns} --allow-private-without-sandbox\`` })
  }

  /** The function's view, with what this platform will not do of its spec (`warnings`, printed by the CLI). */
  const answer = (fn: FunctionResource) => {
    const warnings = c.warnings?.(fn) ?? []
    return warnings.length ? { ...view(fn), warnings } : view(fn)
  }

  app.get('/functions', async (req) => c.functions.list().filter((f) => req.kiln.shows(f.metadata.namespace ?? DEFAULT_NAMESPACE)).map(view))

  app.post('/functions', async (req, reply) => {
    const given = await check(req.body, req.kiln.namespace)
    const ref = refOfMeta(given.metadata)
    if (c.functions.get(ref)) throw new KilnError('KILN_ERR_ALREADY_EXISTS', `Function ${describeRef(ref)} already exists`)
    // The version first: whoever sees the function finds what serves it.
    const { stored: fn } = await c.releases.deploy(given, authorOf(req), true, (f) => c.functions.create(f))
    await c.live.whenApplied(ref)
    return reply.status(201).send(answer(fn))
  })

  app.put<{ Params: { name: string }; Querystring: { promote?: string } }>('/functions/:name', async (req, reply) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    const existed = c.functions.get(ref) !== undefined
    const given = await check(req.body, req.kiln.namespace, req.params.name)
    const { stored: fn } = await c.releases.deploy(given, authorOf(req), promoted(req.query), (f) => c.functions.put(f))
    // Returns once the traffic is applied: a promoted version is the only one served (for `warm`, warm).
    await c.live.whenApplied(ref)
    return reply.status(existed ? 200 : 201).send(answer(fn))
  })

  app.get<{ Params: { name: string } }>('/functions/:name', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    const fn = c.functions.get(ref)
    if (!fn) throw notFound('Function', ref)
    return view(fn)
  })

  // Refused while routes, triggers or workflows refer to it (they would 404 or fail); `?cascade=1`
  // deletes them first and names them in the answer.
  app.delete<{ Params: { name: string }; Querystring: { cascade?: string } }>('/functions/:name', async (req) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    if (!c.functions.get(ref)) throw notFound('Function', ref)
    const deps = dependentsOf(c, ref)
    if (deps.length > 0 && !truthy(req.query.cascade)) throw inUse(ref, deps)
    await deleteDependents(c, deps)
    const seen = c.releases.snapshot(ref)
    const fn = await c.functions.delete(ref)
    if (!fn) throw notFound('Function', ref)
    // Its versions and traffic go with it (a function made again under this name starts at version 1).
    await c.releases.forget(ref, seen)
    return { ...deleted(fn.metadata), ...(deps.length ? { cascaded: deps.map((d) => ({ kind: d.kind, name: d.ref.slice(d.ref.indexOf('/') + 1) })) } : {}) }
  })

  // `since` (an ISO time): only lines written at or after it (each line starts with its ISO time), which
  // is how `kiln fn logs --since 10m` and `-f` (polling from the last line's time) read.
  // `follow=true`: plain text, the last `tail` lines first, then new ones until the client goes away.
  app.get<{ Params: { name: string }; Querystring: { tail?: string; since?: string; follow?: string } }>('/functions/:name/logs', async (req, reply) => {
    const ref = refOf(req.kiln.namespace, req.params.name)
    if (!c.functions.get(ref)) throw notFound('Function', ref)
    const since = req.query.since
    if (since !== undefined && Number.isNaN(Date.parse(since))) throw new KilnError('KILN_ERR_BAD_REQUEST', `since: "${since}" is not an ISO time (e.g. 2024-05-01T10:00:00Z)`)
    const tail = Math.min(Math.max(Number(req.query.tail ?? (since ? 10_000 : 200)) || 200, 1), 10_000)
    if (req.query.follow === 'true' || req.query.follow === '1') {
      return reply.type('text/plain; charset=utf-8').send(followLogs(c.logs, ref, tail, req.raw, since === undefined ? undefined : new Date(since).toISOString()))
    }
    let lines = await c.logs.read(ref, tail)
    if (since !== undefined) {
      const from = new Date(since).toISOString()
      lines = lines.filter((l) => l.slice(0, from.length) >= from)
    }
    return { function: req.params.name, namespace: req.kiln.namespace, lines }
  })
}
