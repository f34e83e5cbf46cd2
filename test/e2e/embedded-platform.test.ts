// The embedded platform end to end: the real `kiln` CLI against a real `kiln up`, real runtime processes.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { alive, cgroupRootsOf, cmdline, descendantsOf, get, KILN, kiln, kilnUp, rawRequest, ROOT, type UpProcess, cliEnv } from '../helpers/cli.js'
import { until } from '../helpers/until.js'

const F = join(ROOT, 'test', 'e2e', 'fixtures')
const HELLO = join(ROOT, 'examples', 'hello', 'index.js')

describe('kiln up + kiln CLI', () => {
  let dataDir: string
  let up: UpProcess
  let env: Record<string, string>

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-'))
    up = await kilnUp(dataDir)
    env = { KILN_URL: up.url }
  })

  afterAll(async () => {
    await up?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('deploys with progress and invokes through the CLI and over HTTP', async () => {
    const d = await kiln(['fn', 'deploy', 'hello', '--runtime', 'node', '--code', HELLO], env)
    expect(d.code, d.stderr).toBe(0)
    expect(d.stderr).toMatch(/Built 1 file/)
    expect(d.stderr).toMatch(/Uploaded package/)
    expect(d.stderr).toMatch(/hello ready/)

    const inv = await kiln(['fn', 'invoke', 'hello', '--data', '{"name":"Ada"}'], env)
    expect(inv.code, inv.stderr).toBe(0)
    expect(JSON.parse(inv.stdout)).toEqual({ message: 'Hello, Ada!' })

    const http = await get(`${up.url}/fn/hello?name=Ada`)
    expect(http.status).toBe(200)
    expect(JSON.parse(http.text)).toEqual({ message: 'Hello, Ada!' })
  })

  it('lists, gets as JSON, and shows runtimes and pools', async () => {
    const list = await kiln(['fn', 'list'], env)
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/^NAME\s+RUNTIME/m)
    expect(list.stdout).toMatch(/^hello\s+node\s+pool/m)

    const g = await kiln(['fn', 'get', 'hello', '-o', 'json'], env)
    expect(g.code).toBe(0)
    const fn = JSON.parse(g.stdout)
    expect(fn.metadata.name).toBe('hello')
    expect(fn.status.strategy).toBe('pool')
    expect(fn.status.instances.length).toBeGreaterThanOrEqual(1)

    const rts = JSON.parse((await kiln(['runtime', 'list', '-o', 'json'], env)).stdout)
    expect(rts.map((r: { metadata: { name: string } }) => r.metadata.name)).toContain('node')
    const pools = JSON.parse((await kiln(['pool', 'list', '-o', 'json'], env)).stdout)
    expect(pools.find((p: { runtime: string }) => p.runtime === 'node').target).toBe(2)
  })

  it('routes a user path with params to the function', async () => {
    const r = await kiln(['route', 'add', '--method', 'GET', '--path', '/greet/:name', '--function', 'hello'], env)
    expect(r.code, r.stderr).toBe(0)
    const res = await get(`${up.url}/greet/Grace`)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text)).toEqual({ message: 'Hello, Grace!' })
    const dup = await kiln(['route', 'add', '--method', 'GET', '--path', '/greet/:who', '--function', 'hello'], env)
    expect(dup.code).toBe(1)
    expect(dup.stderr).toMatch(/already exists/)
  })

  it('serves the new code as soon as a redeploy returns', async () => {
    // Keep the old version busy-warm, then redeploy: the very next request must see version 2.
    for (let i = 0; i < 3; i++) expect((await get(`${up.url}/fn/hello?name=x`)).status).toBe(200)
    const d = await kiln(['fn', 'deploy', 'hello', '--code', join(F, 'hello-v2.mjs')], env)
    expect(d.code, d.stderr).toBe(0)
    const res = await get(`${up.url}/fn/hello?name=Lin`)
    expect(JSON.parse(res.text)).toEqual({ version: 2, name: 'Lin' })
  })

  it('20 concurrent first requests cause one specialization and all succeed', async () => {
    expect((await kiln(['fn', 'deploy', 'burst', '--code', join(F, 'slow.mjs')], env)).code).toBe(0)
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(`${up.url}/fn/burst`)))
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200))
    // By instance id: every runtime has the same pid inside its own pid namespace.
    expect(new Set(answers.map((a) => a.headers['x-kiln-instance'])).size).toBe(1)
    const fn = JSON.parse((await kiln(['fn', 'get', 'burst', '-o', 'json'], env)).stdout)
    expect(fn.status.specializations).toBe(1)
  })

  it('a thrown error is a 500 naming the function, and the instance keeps serving', async () => {
    expect((await kiln(['fn', 'deploy', 'thrower', '--code', join(F, 'throws.mjs')], env)).code).toBe(0)
    const res = await get(`${up.url}/fn/thrower`)
    expect(res.status).toBe(500)
    const body = JSON.parse(res.text)
    expect(body.error).toBe('KILN_ERR_FUNCTION_ERROR')
    expect(body.function).toBe('thrower')
    expect(body.message).toMatch(/boom from the function/)
    const again = await get(`${up.url}/fn/thrower`)
    expect(again.status).toBe(500)
    expect(again.headers['x-kiln-instance']).toBe(res.headers['x-kiln-instance'])
  })

  it('a function that never answers gets a 504 after its timeout and its instance is replaced', async () => {
    expect((await kiln(['fn', 'deploy', 'hang', '--code', join(F, 'hangs.mjs'), '--timeout', '800ms'], env)).code).toBe(0)
    const first = await get(`${up.url}/fn/hang?ok=1`)
    expect(first.status).toBe(200)
    const res = await get(`${up.url}/fn/hang`)
    expect(res.status).toBe(504)
    expect(JSON.parse(res.text).error).toBe('KILN_ERR_FUNCTION_TIMEOUT')
    const after = await get(`${up.url}/fn/hang?ok=1`)
    expect(after.status).toBe(200)
    expect(after.headers['x-kiln-instance']).not.toBe(first.headers['x-kiln-instance'])
  })

  it('a function that exits the process gets a 502, and the next request is served by a fresh instance', async () => {
    expect((await kiln(['fn', 'deploy', 'quitter', '--code', join(F, 'exits.mjs')], env)).code).toBe(0)
    const before = (await get(`${up.url}/fn/quitter`)).headers['x-kiln-instance']
    const res = await get(`${up.url}/fn/quitter?exit=1`)
    expect(res.status).toBe(502)
    expect(JSON.parse(res.text).error).toBe('KILN_ERR_FUNCTION_CRASHED')
    const next = await get(`${up.url}/fn/quitter`)
    expect(next.status, next.text).toBe(200)
    expect(next.headers['x-kiln-instance']).not.toBe(before)
  })

  it('captures stdout and stderr per function for `kiln fn logs`', async () => {
    expect((await kiln(['fn', 'deploy', 'logger', '--code', join(F, 'logs.cjs')], env)).code).toBe(0)
    expect((await get(`${up.url}/fn/logger?tag=t-123`)).text).toBe('logged')
    const out = await until('both lines in the function\'s logs', async () => {
      const o = (await kiln(['fn', 'logs', 'logger'], env)).stdout
      return o.includes('stderr hello to stderr t-123') && o.includes('stdout hello to stdout t-123') ? o : undefined
    }, 30_000, 100)
    expect(out).toMatch(/stdout hello to stdout t-123/)
    expect(out).toMatch(/stderr hello to stderr t-123/)
  })

  it('`kiln fn logs -f` prints the last lines, then each new one as the function writes it', async () => {
    expect((await kiln(['fn', 'deploy', 'follower', '--code', join(F, 'logs.cjs')], env)).code).toBe(0)
    const args = ['fn', 'logs', 'follower', '-f', '--tail', '1']
    const child = spawn(process.execPath, [KILN, ...args], { env: cliEnv(args, env), stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    child.stderr.on('data', (c) => { err += c })
    let out = ''
    child.stdout.on('data', (c) => { out += c })
    try {
      // Requests until both lines of one show (the first requests may come before it is listening).
      const both = (i: number) => out.includes(`stdout hello to stdout t-follow-${i}\n`) && out.includes(`stderr hello to stderr t-follow-${i}\n`)
      let seen = -1
      for (let i = 0; i < 100 && seen < 0; i++) {
        expect((await get(`${up.url}/fn/follower?tag=t-follow-${i}`)).text).toBe('logged')
        for (let wait = 0; wait < 20 && seen < 0; wait++) {
          await new Promise((r) => setTimeout(r, 50))
          for (let j = 0; j <= i; j++) if (both(j)) seen = j
        }
      }
      expect(seen).toBeGreaterThanOrEqual(0)
      expect(out).toMatch(new RegExp(`^\\S+ \\S+ stdout hello to stdout t-follow-${seen}$`, 'm'))
      expect(child.exitCode, err).toBeNull()
    } finally {
      child.kill('SIGTERM')
    }
  })

  it('a broken package fails the deploy with the esbuild error and stores nothing', async () => {
    const pkgs = async () => (await readdir(join(dataDir, 'packages', 'sha256')).catch(() => [])).length
    const before = await pkgs()
    const d = await kiln(['fn', 'deploy', 'broken', '--code', join(F, 'broken.mjs')], env)
    expect(d.code).toBe(1)
    expect(d.stderr).toMatch(/broken\.mjs:\d+:\d+/)
    expect(await pkgs()).toBe(before)
    const g = await kiln(['fn', 'get', 'broken'], env)
    expect(g.code).toBe(1)
    expect(g.stderr).toMatch(/not found/)
  })

  it('bad input gets clear errors and exit codes', async () => {
    const bad = await kiln(['fn', 'deploy', 'Bad_Name', '--code', HELLO], env)
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/metadata\.name/)
    const unknownRt = await kiln(['fn', 'deploy', 'x1', '--runtime', 'cobol', '--code', HELLO], env)
    expect(unknownRt.code).toBe(1)
    const missing = await kiln(['fn', 'invoke', 'nope'], env)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/not found/)
    const down = await kiln(['fn', 'list'], { KILN_URL: 'http://127.0.0.1:9' })
    expect(down.code).toBe(2)
    expect(down.stderr).toMatch(/cannot reach/)
    // Announced over the limit: refused from the headers alone, before a byte of the body is read.
    const big = await rawRequest(up.url, `POST /fn/hello HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/plain\r\ncontent-length: ${200 * 1024 * 1024}\r\n\r\n`, 'x')
    expect(big.status).toBe(413)
    expect(JSON.parse(big.body).error).toBe('KILN_ERR_BODY_TOO_LARGE')
    // A function's own limit, far below the runtime's: only the router can be the one refusing.
    expect((await kiln(['fn', 'deploy', 'smallbody', '--code', HELLO, '--max-body', '1Ki'], env)).code).toBe(0)
    const over = await rawRequest(up.url, 'POST /fn/smallbody HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/plain\r\ncontent-length: 2048\r\n\r\n', 'x')
    expect([over.status, JSON.parse(over.body).error]).toEqual([413, 'KILN_ERR_BODY_TOO_LARGE'])
  })

  /** Every process `kiln up` started (the spawner, the instances it spawned, theirs), and how many are runtime instances. */
  const processTree = async () => {
    const all = await descendantsOf(up.child.pid!)
    return { all, runtimes: all.filter((pid) => cmdline(pid).includes(join('dist', 'runtimes', 'node.js'))) }
  }
  const allDead = (pids: number[]) => until('every process kiln up started to exit', async () => !pids.some(alive), 30_000, 50)

  it('leaves no instance behind when kiln up is killed with SIGKILL', async () => {
    const tree = await processTree()
    expect(tree.runtimes.length).toBeGreaterThan(0)
    await up.stop('SIGKILL')
    // The runtimes watch their stdin pipe from kiln up and exit when it closes.
    await allDead(tree.all)
    up = await kilnUp(dataDir)
    env.KILN_URL = up.url
  })

  it('deletes a function (then 404) and survives a restart of kiln up with its functions', async () => {
    expect((await kiln(['fn', 'delete', 'thrower'], env)).code).toBe(0)
    expect((await get(`${up.url}/fn/thrower`)).status).toBe(404)

    const tree = await processTree()
    expect(tree.runtimes.length).toBeGreaterThan(0)
    expect(await up.stop('SIGTERM')).toBe(0)
    // Every runtime instance died with kiln up.
    await allDead(tree.all)

    up = await kilnUp(dataDir)
    env.KILN_URL = up.url
    const res = await get(`${up.url}/fn/hello?name=again`)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text)).toEqual({ version: 2, name: 'again' })
    expect((await get(`${up.url}/greet/Ada`)).status).toBe(200)
    expect((await get(`${up.url}/fn/thrower`)).status).toBe(404)
  })
  it('stops cleanly while an instance ignores SIGTERM past its grace: it is killed, and the cgroup root goes too', async () => {
    expect((await kiln(['fn', 'deploy', 'stubborn', '--code', join(F, 'ignores-sigterm.mjs')], env)).code).toBe(0)
    expect((await get(`${up.url}/fn/stubborn`)).text).toBe('stubborn')
    const tree = await processTree()
    expect(await up.stop('SIGTERM')).toBe(0)
    await allDead(tree.all)
    // Before, kiln up exited while it waited for the killed instance (nothing held its event loop open),
    // before it removed its cgroups.
    expect(cgroupRootsOf(dataDir)).toEqual([])
  })
  it('a second SIGTERM stops at once while a request is still in flight', async () => {
    up = await kilnUp(dataDir)
    env.KILN_URL = up.url
    expect((await kiln(['fn', 'deploy', 'waits', '--code', join(F, 'waits.mjs'), '--timeout', '2m'], env)).code).toBe(0)
    void get(`${up.url}/fn/waits`).catch(() => undefined)
    await until('the request to be in flight', async () => {
      const fn = JSON.parse((await kiln(['fn', 'get', 'waits', '-o', 'json'], env)).stdout)
      return fn.status.instances.some((i: { state: string }) => i.state === 'busy') ? true : undefined
    })
    const tree = await processTree()
    up.child.kill('SIGTERM')
    await until('kiln up to wait for the request', async () => (up.output().includes('SIGTERM again to stop now') ? true : undefined))
    // The first stop waits for the request (up to the function's timeout); the second does not.
    expect(await up.stop('SIGTERM')).toBe(130)
    expect(up.output()).toContain('stopping now, without waiting for requests in flight')
    await allDead(tree.all)
    // What a forced stop leaves (its cgroups) the next start on the data dir sweeps, and a clean stop removes.
    up = await kilnUp(dataDir)
    expect(await up.stop('SIGTERM')).toBe(0)
    expect(cgroupRootsOf(dataDir)).toEqual([])
  })
})

describe('kiln up --router-processes 2', () => {
  let dataDir: string
  let up: UpProcess

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-routers-'))
    up = await kilnUp(dataDir, ['--router-processes', '2'])
  })

  afterAll(async () => {
    await up?.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  const routers = async () => (await descendantsOf(up.child.pid!)).filter((pid) => cmdline(pid).includes(join('dist', 'router-worker.js')))

  it('serves through its router processes, lets a request in flight finish when every process gets SIGTERM, and leaves none behind', async () => {
    const env = { KILN_URL: up.url }
    const pids = await routers()
    expect(pids).toHaveLength(2)
    expect((await kiln(['fn', 'deploy', 'waits', '--code', join(F, 'waits.mjs')], env)).code).toBe(0)
    const health = JSON.parse((await get(`${up.url}/healthz`)).text)
    expect(health.routers).toMatchObject({ processes: 2, alive: 2 })
    const inFlight = get(`${up.url}/fn/waits?ms=1500`)
    await until('the request to be in flight', async () => {
      const fn = JSON.parse((await kiln(['fn', 'get', 'waits', '-o', 'json'], env)).stdout)
      return fn.status.instances.some((i: { state: string }) => i.state === 'busy') ? true : undefined
    })
    // As a service manager stops a service: every process of it gets SIGTERM. The router processes
    // leave the stop to kiln up, which lets the request finish.
    for (const pid of pids) process.kill(pid, 'SIGTERM')
    up.child.kill('SIGTERM')
    const answer = await inFlight
    expect(answer.status).toBe(200)
    expect(answer.text).toBe('waited')
    await until('kiln up to exit', async () => up.child.exitCode !== null, 20_000, 50)
    expect(up.child.exitCode).toBe(0)
    await until('its router processes to exit', async () => !pids.some(alive), 10_000, 50)
    expect(cgroupRootsOf(dataDir)).toEqual([])
  })

  it('its router processes exit when kiln up is killed with SIGKILL', async () => {
    await up.stop()
    up = await kilnUp(dataDir, ['--router-processes', '2'])
    const pids = await routers()
    expect(pids).toHaveLength(2)
    await up.stop('SIGKILL')
    await until('its router processes to exit', async () => !pids.some(alive), 10_000, 50)
    // The next start sweeps what the killed one left; its clean stop removes the cgroup root.
    up = await kilnUp(dataDir, ['--router-processes', '2'])
    expect(await up.stop('SIGTERM')).toBe(0)
    expect(cgroupRootsOf(dataDir)).toEqual([])
  })

  it('refuses a bad count with the flag named', async () => {
    const r = await kiln(['up', '--router-processes', '0', '--data', dataDir])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('--router-processes')
  })
})
