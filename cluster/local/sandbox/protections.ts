// The one list of what confines an instance on this machine and what is missing, with why. It is
// computed once at startup from what the machine allowed (root or not, bubblewrap, slirp4netns, cgroups)
// and shown in the log, `/healthz`, `/v1/nodes` and `kiln node list`. Callers that must refuse work
// when a protection is missing (e.g. private functions of other namespaces) read it from here.
import type { Protection } from '../../backend.js'

export type IsolationMode = 'root' | 'user' | 'uid' | 'plain'

export interface ProtectionFacts {
  mode: IsolationMode
  /** Why bubblewrap (or setpriv) could not be used, when it could not. */
  why?: string
  uids?: string
  network: 'egress' | 'none' | 'host'
  /** Why egress was wanted but is not there. */
  noEgress?: string
  tmpBytes: number
  cgroups: { mode: string; reason?: string }
  runDir: string
}

const MiB = 1024 * 1024

export function protectionsOf(f: ProtectionFacts): Protection[] {
  const ns = f.mode === 'root' || f.mode === 'user'
  const missing = (what: string) => `missing: ${f.why ?? what}`
  const net = (): Protection => {
    if (!ns) return { name: 'network', active: false, detail: missing('no network namespace') + '; instances share the host network, its loopback included' }
    if (f.network === 'host') return { name: 'network', active: false, detail: 'missing: sandbox.network is host in kiln.yaml; instances share the host network, its loopback included' }
    if (f.network === 'none') {
      return { name: 'network', active: true, detail: `own network namespace, loopback only${f.noEgress ? ` (no egress: ${f.noEgress})` : ' (sandbox.network: none)'}` }
    }
    return { name: 'network', active: true, detail: 'own network namespace with egress through slirp4netns; the host loopback (the platform, other services) is unreachable' }
  }
  return [
    f.mode === 'root' || f.mode === 'uid'
      ? { name: 'uid', active: true, detail: `each instance runs as its own unprivileged uid (${f.uids}), with no capabilities` }
      : { name: 'uid', active: false, detail: f.mode === 'user' ? `missing: kiln runs as uid ${process.getuid?.()} (not root), and its instances share that uid` : missing('instances run as the platform\'s own user') },
    ns
      ? { name: 'filesystem', active: true, detail: 'own mount namespace: its code read-only at /var/kiln/code, its secrets, a private /tmp and the runtime; no data dir, no other function\'s files' }
      : { name: 'filesystem', active: false, detail: missing('no mount namespace') + '; instances see the host file system with their uid\'s rights' },
    ns
      ? { name: 'processes', active: true, detail: 'own pid namespace: cannot see or signal other processes; what it starts dies with it' }
      : { name: 'processes', active: false, detail: missing('no pid namespace') + '; instances see every process and their detached children may outlive them' },
    net(),
    f.cgroups.mode !== 'none'
      ? { name: 'limits', active: true, detail: `memory, pids and cpu enforced by cgroup ${f.cgroups.mode}; open files and file size by rlimits` }
      : { name: 'limits', active: false, detail: `missing: cgroups unavailable (${f.cgroups.reason ?? 'none'}); only open files and file size are limited (rlimits)` },
    ns
      ? { name: 'tmp', active: true, detail: `private /tmp and /dev/shm of ${Math.round(f.tmpBytes / MiB)} MiB each by default` }
      : { name: 'tmp', active: false, detail: missing('no private /tmp') + '; instances write the host\'s /tmp without a cap' },
    { name: 'transport', active: true, detail: `the router reaches each instance on a Unix socket under ${f.runDir}, which only the platform can list` },
    { name: 'code', active: true, detail: 'code is checked against its sha256 and handed over read-only, owned by the platform' },
  ]
}
