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
