// The oldest Kubernetes Kiln runs on, checked when a component starts. 1.33 is the first release with
// the `pods/resize` subresource and in-place pod resize on by default (beta; GA in 1.35), which `pool`
// and `warm` functions' limits depend on (resize.ts). Older API servers answer a resize with 404, so a
// function would fail at its first request; Kiln refuses to start instead, saying why.
import { VersionApi, type KubeConfig } from '@kubernetes/client-node'
import { KilnError } from '../../core/errors.js'

export const MIN_KUBERNETES = { major: 1, minor: 33 } as const
export const MIN_KUBERNETES_VERSION = `${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor}`

/**
 * Major and minor of a server's version: `/version`'s `major`/`minor` ("1", "33+" on some providers),
 * else its gitVersion ("v1.33.4-gke.1245000", "v1.36.3+k3s1").
 */
export function parseKubeVersion(v: { major?: string; minor?: string; gitVersion?: string }): { major: number; minor: number } | undefined {
  const major = Number.parseInt(v.major ?? '', 10)
  const minor = Number.parseInt(v.minor ?? '', 10)
  if (Number.isInteger(major) && Number.isInteger(minor)) return { major, minor }
  const m = /^v?(\d+)\.(\d+)/.exec(v.gitVersion ?? '')
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined
}

/** Throws KILN_ERR_KUBE_VERSION when the version is older than `min` (or cannot be read). */
export function requireKubeVersion(v: { major?: string; minor?: string; gitVersion?: string }, min: { major: number; minor: number } = MIN_KUBERNETES): void {
  const have = parseKubeVersion(v)
  const name = v.gitVersion ?? `${v.major}.${v.minor}`
  if (!have) throw new KilnError('KILN_ERR_KUBE_VERSION', `cannot read the Kubernetes version from the API server's /version (${JSON.stringify(v)}); Kiln needs ${min.major}.${min.minor} or newer`)
  if (have.major < min.major || (have.major === min.major && have.minor < min.minor)) {
    throw new KilnError('KILN_ERR_KUBE_VERSION', `the Kubernetes API server is ${name}; Kiln needs ${min.major}.${min.minor} or newer (in-place pod resize, the pods/resize subresource)`, { kubeVersion: name, minimum: `${min.major}.${min.minor}` })
  }
}

/** Asks the API server its version and checks it. */
export async function checkKubeVersion(kc: KubeConfig, min: { major: number; minor: number } = MIN_KUBERNETES): Promise<string> {
  const info = await kc.makeApiClient(VersionApi).getCode()
  requireKubeVersion(info, min)
  return info.gitVersion
}
