import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ENTER_FAILED_EXIT, wrapArgv } from '../../../cluster/local/cgroups/wrapper.js'
import type { CgroupGroup } from '../../../cluster/local/cgroups/types.js'

const fakeGroup = (procsFiles: string[]) => ({ path: 'g', procsFiles }) as unknown as CgroupGroup
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('wrapArgv', () => {
  it('is the identity without a group or without procs files', () => {
    expect(wrapArgv(null, ['node', 'server.js', '--port', '0'])).toEqual({ command: 'node', args: ['server.js', '--port', '0'] })
    expect(wrapArgv(fakeGroup([]), ['node'])).toEqual({ command: 'node', args: [] })
  })

  it('writes its pid into every procs file, then execs with the same pid and the argv unchanged', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-wrap-'))
    dirs.push(dir)
    const files = [path.join(dir, 'a procs'), path.join(dir, 'b')]
    const tricky = ['a b', "it's", '"q"', '$HOME', '`id`', 'x\ny', '-n', '', '*']
    // The exec'd program prints its own pid and argv: the pid must be the one written into the files.
    const script = 'process.stdout.write(JSON.stringify({ pid: process.pid, argv: process.argv.slice(1) }))'
    const w = wrapArgv(fakeGroup(files), [process.execPath, '-e', script, '--', ...tricky])
    const r = spawnSync(w.command, w.args, { encoding: 'utf8' })
    expect(r.status).toBe(0)
    const out = JSON.parse(r.stdout) as { pid: number; argv: string[] }
    expect(out.argv).toEqual(tricky)
    for (const f of files) expect(readFileSync(f, 'utf8').trim()).toBe(String(out.pid))
  })

  it('exits 125 without running the program when a procs file cannot be written', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-wrap-'))
    dirs.push(dir)
    const marker = path.join(dir, 'ran')
    const w = wrapArgv(fakeGroup([path.join(dir, 'missing', 'cgroup.procs')]), ['/bin/sh', '-c', 'echo > "$1"', 'sh', marker])
    const r = spawnSync(w.command, w.args, { encoding: 'utf8' })
    expect(r.status).toBe(ENTER_FAILED_EXIT)
    expect(r.stderr).toMatch(/cannot enter cgroup/)
    expect(() => readFileSync(marker)).toThrow()
    writeFileSync(marker, '') // the path itself was writable: only the cgroup step failed
  })
})

describe('wrapArgv with rlimits', () => {
  it('sets the open files and file size limits, soft and hard, before the exec (no cgroup needed)', () => {
    const w = wrapArgv(null, ['/bin/sh', '-c', 'echo "$(ulimit -Sn) $(ulimit -Hn) $(ulimit -Sf) $(ulimit -Hf)"'], { openFiles: 321, fileSizeBytes: 1024 * 1024 })
    const r = spawnSync(w.command, w.args, { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
    // POSIX sh counts file sizes in 512-byte blocks.
    expect(r.stdout.trim()).toBe('321 321 2048 2048')
  })

  it('joins the cgroup too, and leaves a limit it is not given as it is', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-wrap-'))
    dirs.push(dir)
    const file = path.join(dir, 'procs')
    const w = wrapArgv(fakeGroup([file]), ['/bin/sh', '-c', 'echo "$$ $(ulimit -n) $(ulimit -f)"'], { openFiles: 100 })
    const r = spawnSync(w.command, w.args, { encoding: 'utf8' })
    const [pid, nofile, fsize] = r.stdout.trim().split(' ')
    expect(readFileSync(file, 'utf8').trim()).toBe(pid)
    expect(nofile).toBe('100')
    expect(fsize).toBe(spawnSync('/bin/sh', ['-c', 'ulimit -f'], { encoding: 'utf8' }).stdout.trim())
  })

  it('exits 125 without running the program when a limit cannot be set (above the hard limit, unprivileged)', () => {
    const w = wrapArgv(null, ['/bin/sh', '-c', 'echo ran'], { openFiles: 64 })
    // Lower the hard limit first, then ask the wrapper for more than it: only root could raise it back.
    const r = spawnSync('/bin/sh', ['-c', 'ulimit -n 32 && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"', 'sh', w.command, ...w.args], { encoding: 'utf8' })
    if (process.getuid?.() !== 0) return
    expect(r.status).toBe(ENTER_FAILED_EXIT)
    expect(r.stdout).toBe('')
  })
})
