// The bubblewrap command line of one instance. Why bubblewrap: one small, audited program (Flatpak's)
// from Debian sets up every namespace, the read-only binds, a size-capped /tmp, a fresh /proc and a
// minimal /dev, sets no_new_privs and ties the sandbox to its parent (--die-with-parent); doing the same
// with util-linux `unshare` needs a shell script of mounts inside the sandbox, and our own wrapper would
// need a compiler on every machine.
//
// Run by root, bwrap needs no user namespace (which would map the sandbox's uid back to root): it builds
// the mounts with root's access (the runtime may live under /root, the per-instance folders are root's),
// and then util-linux `setpriv` drops to the instance's own uid with no capabilities before the runtime
// starts. Run by another user, bwrap makes a user namespace and the instance keeps that user's uid.
import type { SandboxConfig, SandboxMount } from '../../../core/config.js'
import type { BindArg } from './program-binds.js'

/** Paths as the instance sees them (docs/runtime-contract.md, docs/sandbox.md). */
export const INSIDE = { code: '/var/kiln/code', secrets: '/var/kiln/secrets', run: '/run/kiln', socket: '/run/kiln/http.sock' } as const

/** The per-instance host folders bound into the sandbox. */
export interface BoxPaths { code: string; secrets: string; run: string }

export interface BwrapInput {
  programs: SandboxConfig['programs']
  /** root: privileged bwrap, then setpriv to `uid`; user: bwrap in a user namespace, same uid as the platform. */
  mode: 'root' | 'user'
  uid?: number
  network: 'egress' | 'none' | 'host'
  tmpBytes: number
  paths: BoxPaths
  system: BindArg[]
  /** A host folder bound read-only as the sandbox's /etc (its own: made once at startup). */
  etcDir?: string
  program: BindArg[]
  mounts: SandboxMount[]
  /** The descriptor bwrap writes `{"child-pid": N}` to (the sandbox's init, for networking and signals). */
  infoFd: number
}

export function bwrapArgv(i: BwrapInput, runtime: string[]): string[] {
  const a: string[] = [i.programs.bwrap]
  // --disable-userns nests the sandbox in a second user namespace, which slirp4netns cannot join the
  // network namespace from: with egress, nested user namespaces stay possible (as in root mode).
  if (i.mode === 'user') a.push('--unshare-user', ...(i.network === 'egress' ? [] : ['--disable-userns']))
  a.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try')
  if (i.network !== 'host') a.push('--unshare-net')
  a.push('--die-with-parent', '--new-session', '--hostname', 'kiln', '--info-fd', String(i.infoFd))
  // Folders bwrap creates for mount points default to 0700 when it runs as root: make them traversable.
  const made = new Set<string>(['/'])
  const bound: string[] = []
  const parents = (dest: string) => {
    const parts = dest.split('/').filter(Boolean)
    for (let n = 1; n < parts.length; n++) {
      const d = '/' + parts.slice(0, n).join('/')
      if (made.has(d) || bound.some((b) => d === b || d.startsWith(b + '/'))) continue
      made.add(d)
      a.push('--perms', '0755', '--dir', d)
    }
  }
  const bind = (op: string, src: string, dest: string) => {
    parents(dest)
    a.push(op, src, dest)
    if (op !== '--symlink') bound.push(dest)
  }
  for (const [op, src, dest] of i.system) bind(op, src, dest)
  // One mount for all of /etc (a bind per file cost a mount each, for every boot).
  if (i.etcDir !== undefined) bind('--ro-bind', i.etcDir, '/etc')
  a.push('--proc', '/proc', '--dev', '/dev')
  const tmp = String(i.tmpBytes)
  a.push('--perms', '1777', '--size', tmp, '--tmpfs', '/tmp', '--perms', '1777', '--size', tmp, '--tmpfs', '/dev/shm')
  made.add('/tmp')
  bind('--ro-bind', i.paths.code, INSIDE.code)
  bind('--ro-bind', i.paths.secrets, INSIDE.secrets)
  bind('--bind', i.paths.run, INSIDE.run)
  for (const [op, src, dest] of i.program) bind(op, src, dest)
  for (const m of i.mounts) bind(m.writable ? '--bind' : '--ro-bind', m.source, m.target)
  a.push('--chdir', '/tmp', '--')
  if (i.mode === 'root') {
    a.push(i.programs.setpriv, `--reuid=${i.uid}`, `--regid=${i.uid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--')
  }
  a.push(...runtime)
  return a
}
