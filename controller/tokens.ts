// /v1/tokens (admins): create (the token is answered once, never stored), list (ids, roles,
// namespaces, use; never hashes), revoke. `GET /v1/whoami` tells any caller what its token is.
import type { FastifyInstance } from 'fastify'
import { isRole, newToken, tokenInfo } from '../core/auth/token.js'
import { KilnError } from '../core/errors.js'
import { DEFAULT_NAMESPACE, isName } from '../core/refs.js'
import { parseDuration } from '../core/quantity.js'
import type { ControlContext } from './context.js'

/** A token lifetime: days (`30d`), or any duration the platform takes (`12h`, `90m`). */
function expiry(s: string): number {
  const days = /^([0-9]+)d$/.exec(s.trim())
  return days ? Number(days[1]) * 86_400_000 : parseDuration(s)
}

interface CreateBody { role?: unknown; namespaces?: unknown; name?: unknown; description?: unknown; expiresIn?: unknown; expiresAt?: unknown }

export async function tokenRoutes(app: FastifyInstance, c: ControlContext): Promise<void> {
  app.get('/tokens', async () => c.tokens.list().map(tokenInfo))

  app.post<{ Body: CreateBody | undefined }>('/tokens', async (req, reply) => {
    const b = req.body ?? {}
    if (!isRole(b.role)) throw new KilnError('KILN_ERR_VALIDATION', 'role: one of admin, developer, viewer, invoker')
    let namespaces: string[]
    if (b.role === 'admin') namespaces = ['*']
    else {
      const given = b.namespaces === undefined ? [DEFAULT_NAMESPACE] : b.namespaces
      if (!Array.isArray(given) || given.length === 0 || given.some((n) => typeof n !== 'string')) throw new KilnError('KILN_ERR_VALIDATION', 'namespaces: a list of namespaces, or ["*"] for every one')
      namespaces = [...new Set(given as string[])]
      for (const ns of namespaces) {
        if (ns === '*') continue
        if (!isName(ns)) throw new KilnError('KILN_ERR_VALIDATION', `namespaces: "${ns}" is not a namespace name`)
        if (ns !== DEFAULT_NAMESPACE && !c.namespaces.get(ns)) throw new KilnError('KILN_ERR_NAMESPACE_NOT_FOUND', `namespace "${ns}" does not exist`)
      }
      if (namespaces.includes('*')) namespaces = ['*']
    }
    if (b.name !== undefined && (typeof b.name !== 'string' || b.name.length > 63)) throw new KilnError('KILN_ERR_VALIDATION', 'name: a string of at most 63 characters')
    if (b.description !== undefined && (typeof b.description !== 'string' || b.description.length > 512)) throw new KilnError('KILN_ERR_VALIDATION', 'description: a string of at most 512 characters')
    let expiresAt: string | undefined
    if (b.expiresIn !== undefined) {
      let ms: number
      try { ms = expiry(String(b.expiresIn)) } catch { throw new KilnError('KILN_ERR_VALIDATION', `expiresIn: "${String(b.expiresIn)}" is not a duration (e.g. 30d, 12h)`) }
      if (!(ms > 0)) throw new KilnError('KILN_ERR_VALIDATION', 'expiresIn: must be more than 0')
      expiresAt = new Date(Date.now() + ms).toISOString()
    } else if (b.expiresAt !== undefined) {
      if (typeof b.expiresAt !== 'string' || Number.isNaN(Date.parse(b.expiresAt))) throw new KilnError('KILN_ERR_VALIDATION', 'expiresAt: an ISO 8601 time')
      expiresAt = new Date(b.expiresAt).toISOString()
    }
    const { token, record } = newToken({ role: b.role, namespaces, name: b.name as string | undefined, description: b.description as string | undefined, expiresAt })
    await c.tokens.create(record)
    c.logger.info({ tokenId: record.id, role: record.role, namespaces, by: req.kiln.identity.id }, 'token created')
    return reply.status(201).send({ ...tokenInfo(record), token })
  })

  app.delete<{ Params: { id: string } }>('/tokens/:id', async (req) => {
    const rec = c.tokens.get(req.params.id)
    if (!rec) throw new KilnError('KILN_ERR_TOKEN_NOT_FOUND', `token ${req.params.id} not found`)
    if (rec.role === 'admin' && c.tokens.list().filter((t) => t.role === 'admin').length === 1) {
      throw new KilnError('KILN_ERR_IN_USE', `token ${rec.id} is the last admin token`, { hint: 'create another admin token first (`kiln token create --role admin`)' })
    }
    await c.tokens.delete(rec.id)
    c.logger.info({ tokenId: rec.id, by: req.kiln.identity.id }, 'token revoked')
    return { deleted: rec.id }
  })

  app.get('/whoami', async (req) => {
    const me = req.kiln.identity
    const rec = c.tokens.get(me.id)
    const only = me.namespaces.length === 1 && me.namespaces[0] !== '*' ? me.namespaces[0] : DEFAULT_NAMESPACE
    return { id: me.id, role: me.role, namespaces: me.namespaces, defaultNamespace: only, ...(me.name ? { name: me.name } : {}), ...(rec?.expiresAt ? { expiresAt: rec.expiresAt } : {}) }
  })
}
