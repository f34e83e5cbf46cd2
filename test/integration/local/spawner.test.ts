// The spawner process (dist/spawner.js) starts runtime processes for the platform: their output, ready
// pipe and exit come back over IPC, kills go out, a failed start is an error, and when the platform's
// side goes away every child it started dies with it.
import { readFileSync } from 'node:fs'
import { text } from 'node:stream/consumers'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Spawner, type ProcessHandle } from '../../../cluster/local/launcher.js'
import { distDir } from '../../../core/paths.js'
import { until } from '../../helpers/until.js'

const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' }

describe('the spawner process', () => {
  let spawner: Spawner
  const started: ProcessHandle[] = []
  beforeAll(() => {
    const s = Spawner.fromDist()
    if (s === undefined) throw new Error(`${distDir()}/spawner.js is missing: run node build.mjs (npm test does)`)
    spawner = s
  })
  /** Grandchildren a test found (killed afterwards whatever the test's outcome). */
  const grandchildren: number[] = []
  afterEach(() => {
    for (const h of started.splice(0)) if (h.pid !== undefined && alive(h.pid)) process.kill(h.pid, 'SIGKILL')
    for (const pid of grandchildren.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL')
  })
  const launch = (script: string, readyPipe = false) => {
    const h = spawner.launch({ command: '/bin/sh', args: ['-c', script], env, readyPipe })
    started.push(h)
    return h
  }

  it('forwards stdout, stderr and the ready pipe, and reports the exit', async () => {
    const h = launch('echo out; echo err >&2; echo ready >&3; exit 3', true)
    await h.started
    expect(h.pid).toBeGreaterThan(0)
    const [out, err, ready, exit] = await Promise.all([text(h.stdout), text(h.stderr), text(h.ready!), h.exited])
    expect(out).toBe('out\n')
    expect(err).toBe('err\n')
    expect(ready).toBe('ready\n')
    expect(exit).toEqual({ code: 3, signal: null })
    expect(h.alive()).toBe(false)
  })

  it('kills a child on request', async () => {
    const h = launch('sleep 30')
    await h.started
    expect(alive(h.pid!)).toBe(true)
    h.kill('SIGTERM')
    expect(await h.exited).toEqual({ code: null, signal: 'SIGTERM' })
    expect(alive(h.pid!)).toBe(false)
  })

  it('reports a command that cannot start as an error', async () => {
    const h = spawner.launch({ command: '/nonexistent/runtime', args: [], env, readyPipe: false })
    await expect(h.started).rejects.toThrow(/ENOENT/)
    expect((await h.exited).code).toBeNull()
  })

  it('takes its children along when the platform side disconnects, and starts again on next use', async () => {
    const a = launch('sleep 30')
    const b = launch('sleep 30')
    await Promise.all([a.started, b.started])
    spawner.close()
    await until('both children to be gone', async () => !alive(a.pid!) && !alive(b.pid!))
    expect((await a.exited).signal).toBe('SIGKILL')
    const c = launch('echo again')
    expect(await text(c.stdout)).toBe('again\n')
    spawner.close()
  })

  // A child's own children go too: a sandbox's inner process that its killed bubblewrap never released
  // would otherwise wait forever.
  it('takes a child\'s whole process tree along, on disconnect and on SIGKILL', async () => {
    const grandchildOf = async (h: ProcessHandle) => {
      await h.started
      return until('the grandchild to run', async () => {
        try { return Number(readFileSync(`/proc/${h.pid}/task/${h.pid}/children`, 'utf8').trim().split(/\s+/)[0]) || undefined } catch { return undefined }
      })
    }
    // `sleep` in the background, then the shell waits: killing the shell alone would orphan the sleep.
    const a = launch('sleep 300 & wait')
    const b = launch('sleep 300 & wait')
    const [ga, gb] = await Promise.all([grandchildOf(a), grandchildOf(b)])
    grandchildren.push(ga, gb)
    a.kill('SIGKILL')
    await until('the killed child\'s grandchild to be gone', async () => !alive(ga) && !alive(a.pid!))
    expect(alive(gb)).toBe(true)
    spawner.close()
    await until('the other grandchild to be gone with the platform side', async () => !alive(gb) && !alive(b.pid!))
  })
})
