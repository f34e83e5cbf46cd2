// Bearer tokens: `kiln_<id>_<secret>`. The id is public (it names the token in `kiln token list` and
// `revoke`); the secret is 32 random bytes, base64url. Only sha256(secret) is stored: for 256-bit random
// secrets a plain hash is as strong as a slow one, and checking it costs microseconds. Comparison is in
// constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export const ROLES = ['admin', 'developer', 'viewer', 'invoker'] as const
export type Role = (typeof ROLES)[number]

/** A stored token: never the secret, only its hash. `namespaces: ['*']` is every namespace (admin). */
export interface TokenRecord {
  id: string
  hash: string
  role: Role
  namespaces: string[]
  name?: string
  description?: string
  createdAt: string
  lastUsedAt?: string
  expiresAt?: string
}

/** What a token is allowed, as the API shows it (no hash). */
export type TokenInfo = Omit<TokenRecord, 'hash'>

const TOKEN = /^kiln_([a-z0-9]{10})_([A-Za-z0-9_-]{43})$/

export function isRole(s: unknown): s is Role {
  return typeof s === 'string' && (ROLES as readonly string[]).includes(s)
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

/** A new token and the record to store for it; the token itself is shown once and never stored. */
export function newToken(o: { role: Role; namespaces: string[]; name?: string; description?: string; expiresAt?: string }, now = new Date()): { token: string; record: TokenRecord } {
  const id = randomBytes(5).toString('hex')
  const secret = randomBytes(32).toString('base64url')
  return {
    token: `kiln_${id}_${secret}`,
    record: {
      id, hash: hashSecret(secret), role: o.role, namespaces: o.namespaces,
      ...(o.name ? { name: o.name } : {}), ...(o.description ? { description: o.description } : {}),
      createdAt: now.toISOString(), ...(o.expiresAt ? { expiresAt: o.expiresAt } : {}),
    },
  }
}

/** `kiln_<id>_<secret>` → its parts; undefined for anything else. */
export function parseToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN.exec(token)
  return m ? { id: m[1], secret: m[2] } : undefined
}

/** Does the secret match the stored hash? Constant time in the hash's length. */
export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex')
  const b = Buffer.from(hash, 'hex')
  return a.length === b.length && timingSafeEqual(a, b)
}

export function tokenInfo(r: TokenRecord): TokenInfo {
  const { hash: _, ...info } = r
  return info
}
