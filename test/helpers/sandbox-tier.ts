// The sandbox tier: tests of the embedded sandbox as it runs in production need root (a uid per
// instance, cgroups, veth pairs), bubblewrap and slirp4netns. Elsewhere they skip saying which is
// missing (or fail the run when KILN_REQUIRE_TIERS names `sandbox`).
import { spawnSync } from 'node:child_process'
import { tier } from './tier.js'

export function sandboxMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (instances get their own uid only when kiln up runs as root)'
  for (const p of ['bwrap', 'slirp4netns']) if (spawnSync(p, ['--version'], { stdio: 'ignore' }).error) return `${p} not found (Debian's ${p === 'bwrap' ? 'bubblewrap' : p})`
  return undefined
}

/** `describe(name, SANDBOX, fn)`: runs where the whole sandbox can. */
export const SANDBOX = tier('sandbox', sandboxMissing())
