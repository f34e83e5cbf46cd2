// What of the host an instance's file system shows besides its own code: the system directories
// (read-only), a few files of /etc that programs need to resolve names and trust certificates, and the
// runtime program itself (its interpreter's install prefix and the folder of its script). Never a folder
// that holds the data dir or the platform's sandbox state.
import { accessSync, constants, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, delimiter, dirname, join, resolve, sep } from 'node:path'

/** `--ro-bind SRC DEST` or `--symlink TARGET DEST` argument triples for bwrap. */
export type BindArg = [op: '--ro-bind' | '--bind' | '--symlink' | '--ro-bind-try', source: string, dest: string]

const SYSTEM = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']

/** /usr (read-only) and the top-level links or folders that point into it on this host. */
export function systemBinds(): BindArg[] {
  const out: BindArg[] = []
  for (const p of SYSTEM) {
    let st
    try {
      st = lstatSync(p)
    } catch {
      continue
    }
    if (st.isSymbolicLink()) out.push(['--symlink', readlinkSync(p), p])
    else if (st.isDirectory()) out.push(['--ro-bind', p, p])
  }
  return out
}

/**
 * What of the host's /etc a program may read to resolve names, check certificates or find shared
 * libraries. Copied (links kept as links) into the sandbox's own /etc once at startup; a change on the
 * host is seen from the next start. Private keys (/etc/ssl/private) are never copied.
 */
export const ETC_FILES = [
  'hosts', 'host.conf', 'nsswitch.conf', 'gai.conf', 'ssl', 'ca-certificates', 'pki',
  'localtime', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'alternatives', 'mime.types',
  'protocols', 'services',
]

/** Makes `dir` the sandbox's /etc: the host's ETC_FILES plus the given files (passwd, group, resolv.conf). */
export function buildEtc(dir: string, own: Record<string, string>, hostEtc = '/etc'): void {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  for (const name of ETC_FILES) {
    const src = join(hostEtc, name)
    try {
      lstatSync(src)
    } catch {
      continue
    }
    cpSync(src, join(dir, name), { recursive: true, verbatimSymlinks: true, filter: (s) => !/\/ssl\/private(\/|$)/.test(s) && !/\/pki\/.*private/.test(s) })
  }
  for (const [name, text] of Object.entries(own)) writeFileSync(join(dir, name), text, { mode: 0o644 })
}

export function isSystemPath(p: string): boolean {
  return SYSTEM.some((s) => p === s || p.startsWith(s + '/'))
}

function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep)
}

/** The program's absolute path, looked up in PATH like execvp does. */
export function resolveProgram(cmd: string, path = process.env.PATH ?? '/usr/bin:/bin'): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? resolve(cmd) : undefined
  for (const dir of path.split(delimiter)) {
    if (!dir) continue
    const f = join(dir, cmd)
    try {
      accessSync(f, constants.X_OK)
      if (statSync(f).isFile()) return f
    } catch { /* next */ }
  }
  return undefined
}

/**
 * Read-only binds that make a runtime command runnable inside the sandbox: the install prefix of its
 * program when that lives outside the system directories (`<prefix>/bin/node` → `<prefix>`), and the
 * folder of each absolute path among its arguments (a script with its modules beside it). A folder that
 * would show `hidden` (the data dir, the sandbox state) is not bound; the file alone is.
 */
export function programBinds(argv: string[], hidden: string[]): BindArg[] {
  const out: BindArg[] = []
  const add = (src: string) => {
    if (isSystemPath(src) || src === '/' || out.some(([, s]) => within(src, s))) return
    for (let i = out.length - 1; i >= 0; i--) if (within(out[i][1], src)) out.splice(i, 1)
    out.push(['--ro-bind', src, src])
  }
  const safeDir = (dir: string, file: string) => (hidden.some((h) => within(h, dir)) ? file : dir)
  const prog = argv[0] === undefined ? undefined : resolveProgram(argv[0])
  if (prog !== undefined) {
    // The path as called (PATH lookups, links) and the real file behind it both have to resolve inside.
    for (const p of new Set([prog, realpathSync(prog)])) {
      const dir = dirname(p)
      add(safeDir(basename(dir) === 'bin' ? dirname(dir) : dir, p))
    }
  }
  for (const a of argv.slice(1)) {
    if (!a.startsWith('/') || !existsSync(a)) continue
    const real = realpathSync(a)
    const st = statSync(real)
    add(st.isDirectory() ? safeDir(real, real) : safeDir(dirname(real), real))
    if (real !== a) add(st.isDirectory() ? safeDir(a, a) : safeDir(dirname(a), a))
  }
  return out
}

/**
 * The sandbox's /etc/resolv.conf: the host's, except that nameservers on the host's loopback (which the
 * sandbox cannot reach) are replaced by slirp4netns' DNS forwarder.
 */
export function sandboxResolvConf(host = '/etc/resolv.conf'): string {
  let text = ''
  try {
    text = readFileSync(host, 'utf8')
  } catch { /* none */ }
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !/^\s*nameserver\s+(127\.|::1\b)/.test(l))
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push('nameserver 10.0.2.3')
  return lines.join('\n').replace(/\n*$/, '\n')
}
