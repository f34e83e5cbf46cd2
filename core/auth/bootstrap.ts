// The first admin token: created when no admin token exists (a fresh data dir or cluster, or every
// admin token revoked), published where an operator finds it, and logged by where it is — never the
// token itself.
import type { Logger } from 'pino'
import type { TokenStore } from '../store/token-store.js'
import { newToken } from './token.js'

export async function ensureAdminToken(store: TokenStore, logger: Logger, now = new Date()): Promise<{ created: boolean; where: string } | undefined> {
  const live = store.list().some((t) => t.role === 'admin' && (!t.expiresAt || Date.parse(t.expiresAt) > now.getTime()))
  if (live) return undefined
  const { token, record } = newToken({ role: 'admin', namespaces: ['*'], name: 'initial-admin', description: 'created by the first start' }, now)
  const r = await store.createInitialAdmin(record, token)
  if (r.created) logger.info({ where: r.where, tokenId: record.id }, `created the first admin token; it is in ${r.where} (the CLI on this machine reads it from there)`)
  return r
}
