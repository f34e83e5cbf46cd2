// The sandbox's command line, read as bubblewrap would: what is bound, read-only or not, and never the data dir.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { bwrapArgv, INSIDE, type BwrapInput } from '../../../cluster/local/sandbox/bwrap-args.js'
import { buildEtc, programBinds, sandboxResolvConf } from '../../../cluster/local/sandbox/program-binds.js'

const base = mkdtempSync(join(tmpdir(), 'kiln-bwrap-args-'))
afterAll(() => rmSync(base, { recursive: true, force: true }))

function input(over: Partial<BwrapInput> = {}): BwrapInput {
  return {
    programs: { bwrap: 'bwrap', setpriv: 'setpriv', slirp4netns: 'slirp4netns' }, mode: 'root', uid: 1_234_567, network: 'egress', tmpBytes: 1 << 20,
    paths: { code: '/d/sandbox/instances/i', secrets: '/run/k/i/secrets', run: '/run/k/i/sock' },
    system: [['--ro-bind', '/usr', '/usr'], ['--symlink', 'usr/bin', '/bin']], etcDir: '/run/k/etc',
    program: [['--ro-bind', '/opt/rt', '/opt/rt']], mounts: [], infoFd: 4, ...over,
  }
}

/** [op, src, dest] triples of an argv. */
function binds(argv: string[]): string[][] {
  const out: string[][] = []
  for (let i = 0; i < argv.length; i++) if (['--ro-bind', '--bind', '--ro-bind-try', '--symlink'].includes(argv[i])) out.push(argv.slice(i, i + 3))
  return out
}

describe('bwrapArgv', () => {
  it('binds the code and secrets read-only and only the socket folder writable, then drops to the uid with no capabilities', () => {
    const a = bwrapArgv(input(), ['node', 'rt.js'])
    expect(binds(a)).toContainEqual(['--ro-bind', '/d/sandbox/instances/i', INSIDE.code])
    expect(binds(a)).toContainEqual(['--ro-bind', '/run/k/i/secrets', INSIDE.secrets])
    expect(binds(a).filter(([op]) => op === '--bind')).toEqual([['--bind', '/run/k/i/sock', INSIDE.run]])
    for (const f of ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--die-with-parent', '--new-session']) expect(a).toContain(f)
    const sep = a.indexOf('--')
    expect(a.slice(sep + 1)).toEqual(['setpriv', '--reuid=1234567', '--regid=1234567', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', 'node', 'rt.js'])
    expect(a.slice(a.indexOf('--tmpfs') - 4, a.indexOf('--tmpfs') + 2)).toEqual(['--perms', '1777', '--size', String(1 << 20), '--tmpfs', '/tmp'])
  })
  it('shares the host network only when asked; a user-namespace sandbox keeps its uid (and may not nest namespaces without egress)', () => {
    expect(bwrapArgv(input({ network: 'host' }), ['x'])).not.toContain('--unshare-net')
    const u = bwrapArgv(input({ mode: 'user', uid: undefined, network: 'none' }), ['x'])
    expect(u).toEqual(expect.arrayContaining(['--unshare-user', '--disable-userns']))
    // With egress, slirp4netns must join the sandbox's own user namespace: no nested one.
    expect(bwrapArgv(input({ mode: 'user', uid: undefined }), ['x'])).not.toContain('--disable-userns')
    expect(u).not.toContain('setpriv')
    expect(u[u.length - 1]).toBe('x')
  })
  it('binds its own /etc, read-only, in one mount', () => {
    expect(binds(bwrapArgv(input(), ['x'])).filter(([, , dest]) => dest.startsWith('/etc'))).toEqual([['--ro-bind', '/run/k/etc', '/etc']])
  })
  it('makes the folders above a mount point traversable', () => {
    const a = bwrapArgv(input(), ['x'])
    for (const d of ['/var', '/var/kiln', '/run', '/opt']) expect(a.join(' ')).toContain(`--perms 0755 --dir ${d} `)
  })
})

describe('programBinds', () => {
  it('binds the folder of a script and the install prefix of its interpreter, never a folder holding the data dir', () => {
    const app = join(base, 'app')
    mkdirSync(join(app, 'bin'), { recursive: true })
    mkdirSync(join(app, '.kiln'), { recursive: true })
    writeFileSync(join(app, 'server.js'), '')
    writeFileSync(join(app, 'bin', 'interp'), '#!/bin/sh\n', { mode: 0o755 })
    const b = programBinds([join(app, 'bin', 'interp'), join(app, 'server.js')], [join(app, '.kiln')])
    // The app folder would show the data dir: only the files themselves are bound.
    expect(b).toEqual([['--ro-bind', join(app, 'bin', 'interp'), join(app, 'bin', 'interp')], ['--ro-bind', join(app, 'server.js'), join(app, 'server.js')]])
    const other = join(base, 'rt')
    mkdirSync(join(other, 'bin'), { recursive: true })
    writeFileSync(join(other, 'bin', 'interp'), '', { mode: 0o755 })
    writeFileSync(join(other, 'main.py'), '')
    expect(programBinds([join(other, 'bin', 'interp'), join(other, 'main.py')], [join(app, '.kiln')])).toEqual([['--ro-bind', other, other]])
    expect(programBinds(['/usr/bin/env', '/usr/lib/x'], [])).toEqual([])
  })
})

describe('sandboxResolvConf', () => {
  it('keeps the host nameservers except loopback ones, which the sandbox cannot reach', () => {
    const f = join(base, 'resolv.conf')
    writeFileSync(f, 'search example\nnameserver 127.0.0.53\nnameserver 192.0.2.53\n')
    expect(sandboxResolvConf(f)).toBe('search example\nnameserver 192.0.2.53\n')
    writeFileSync(f, 'nameserver 127.0.0.53\n')
    expect(sandboxResolvConf(f)).toBe('nameserver 10.0.2.3\n')
  })
})

describe('buildEtc', () => {
  it('copies what programs need of the host\'s /etc (links as links), never private keys, plus its own files', () => {
    const host = join(base, 'host-etc')
    mkdirSync(join(host, 'ssl', 'certs'), { recursive: true })
    mkdirSync(join(host, 'ssl', 'private'), { recursive: true })
    writeFileSync(join(host, 'ssl', 'private', 'key.pem'), 'secret')
    writeFileSync(join(host, 'ssl', 'certs', 'ca.pem'), 'ca')
    writeFileSync(join(host, 'hosts'), '127.0.0.1 localhost\n')
    writeFileSync(join(host, 'shadow'), 'root:hash')
    symlinkSync('/usr/share/zoneinfo/UTC', join(host, 'localtime'))
    const out = join(base, 'sandbox-etc')
    buildEtc(out, { passwd: 'root:x:0:0::/:/bin/false\n' }, host)
    expect(readdirSync(out).sort()).toEqual(['hosts', 'localtime', 'passwd', 'ssl'])
    expect(readdirSync(join(out, 'ssl'))).toEqual(['certs'])
    expect(readlinkSync(join(out, 'localtime'))).toBe('/usr/share/zoneinfo/UTC')
    expect(readFileSync(join(out, 'passwd'), 'utf8')).toBe('root:x:0:0::/:/bin/false\n')
  })
})
