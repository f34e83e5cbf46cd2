// Who is calling: the bearer token of a request, checked against the token store (a map lookup and one
// sha256, synchronous, so the data plane can ask on its path). Answers an Identity, or the catalogue's
// KILN_ERR_UNAUTHENTICATED saying what was wrong without saying which tokens exist.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { KilnError } from '../errors.js'
import type { TokenStore } from '../store/token-store.js'
import { parseToken, secretMatches, type Role } from './token.js'

export interface Identity {
  /** The token's public id (`internal` for the platform's own calls). */
  id: string
  role: Role
  namespaces: readonly string[]
  name?: string
}

export class Authenticator {
  /** The platform's own token for calls it makes to itself (workflows and triggers calling private functions); never stored. */
  readonly internalToken = `kiln_internal_${randomBytes(32).toString('base64url')}`
  private readonly internal: Identity = { id: 'internal', role: 'invoker', namespaces: ['*'], name: 'the platform' }

  constructor(private readonly store: TokenStore) {}

  /** The caller of an `Authorization` header value. */
  identify(authorization: string | string[] | undefined, now = new Date()): Identity | KilnError {
    if (typeof authorization !== 'string' || authorization === '') {
      return new KilnError('KILN_ERR_UNAUTHENTICATED', 'no token: send Authorization: Bearer <token>')
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    if (!m) return new KilnError('KILN_ERR_UNAUTHENTICATED', 'the Authorization header is not "Bearer <token>"')
    const token = m[1]
    if (token.length === this.internalToken.length && timingSafeEqual(Buffer.from(token), Buffer.from(this.internalToken))) return this.internal
    const parts = parseToken(token)
    const rec = parts && this.store.get(parts.id)
    if (!parts || !rec || !secretMatches(parts.secret, rec.hash)) {
      return new KilnError('KILN_ERR_UNAUTHENTICATED', 'the token is not valid (unknown or revoked)')
    }
    if (rec.expiresAt && Date.parse(rec.expiresAt) <= now.getTime()) {
      return new KilnError('KILN_ERR_UNAUTHENTICATED', `the token ${rec.id} expired at ${rec.expiresAt}`)
    }
    this.store.touch(rec.id, now)
    return { id: rec.id, role: rec.role, namespaces: rec.namespaces, ...(rec.name ? { name: rec.name } : {}) }
  }
}
