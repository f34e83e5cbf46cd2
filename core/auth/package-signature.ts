// Package URLs for instances that download their code (runtime pods): `/v1/packages/<sha256>?sig=...`,
// where `sig` is an HMAC of the sha256 under a key only the platform holds. Such a URL reads that one
// package and nothing else, so a pod needs no token (which its function's code could read), and a
// content address guessed from public code is still refused without a token (controller/authz.ts).
import { createHmac, timingSafeEqual } from 'node:crypto'

export interface PackageSigner {
  sign(sha256: string): string
  verify(sha256: string, sig: string): boolean
}

export function packageSigner(key: Buffer): PackageSigner {
  const sign = (sha: string) => createHmac('sha256', key).update(`kiln-package\0${sha}`).digest('base64url')
  return {
    sign,
    verify(sha, sig) {
      const want = Buffer.from(sign(sha))
      const got = Buffer.from(sig)
      return want.length === got.length && timingSafeEqual(want, got)
    },
  }
}
