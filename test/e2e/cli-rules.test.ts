// Every rule of the CLI that "never surprises" (docs/declarative.md, the CLI reference), each through the
// real `kiln` against a real platform, with its exit code and (where it is the point) its message:
// configuration-only deploys, kept and reset fields, units, ineffective settings, output formats,
// following logs, delete refusal, allowed values, data from a file or stdin, versions, completion, the
// `fn get` view, a port in use, and the local dev loop.
import { spawn, spawnSync } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { cgroupRootsOf, childrenOf, freePort, kiln, KILN, ROOT } from '../helpers/cli.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { until } from '../helpers/until.js'

const waitUntil = (what: string, fn: () => Promise<boolean>) => until(what, fn, 30_000)

const HELLO = join(ROOT, 'examples', 'hello', 'index.js')
const LOGS = join(ROOT, 'test', 'e2e', 'fixtures', 'logs.cjs')

describe('the CLI never surprises', () => {
  let p: TestPlatform
  let dir: string
  const k = (...args: string[]) => kiln([...args, '--server', p.url])
  const spec = async (name: string) => (await p.call(`/v1/functions/${name}`)).json().spec

  beforeAll(async () => {
    p = await startTestPlatform()
    dir = await mkdtemp(join(tmpdir(), 'kiln-cli-rules-'))
  })
  afterAll(async () => {
    await p?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('fn deploy without --code: a new function is refused (exit 1); an existing one gets a configuration-only update', async () => {
    const fresh = await k('fn', 'deploy', 'cfg', '--env', 'FOO=bar')
    expect(fresh.code).toBe(1)
    expect(fresh.stderr).toContain('a new function needs --code PATH')
    expect((await k('fn', 'deploy', 'cfg', '--code', HELLO)).code).toBe(0)
    const sha = (await spec('cfg')).package.sha256
    const r = await k('fn', 'deploy', 'cfg', '--env', 'FOO=bar')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).not.toContain('Building')
    const s = await spec('cfg')
    expect(s.package.sha256).toBe(sha)
    expect(s.env).toEqual({ FOO: 'bar' })
  })

  it('flags left out keep their values and the command says which; --env adds; --unset resets', async () => {
    expect((await k('fn', 'deploy', 'keep', '--code', HELLO, '--strategy', 'warm', '--min-warm', '2', '--env', 'A=1')).code).toBe(0)
    const r = await k('fn', 'deploy', 'keep', '--code', HELLO, '--env', 'B=2')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('kept from the current spec')
    expect(r.stderr).toContain('strategy warm')
    expect(r.stderr).toContain('minWarm 2')
    let s = await spec('keep')
    expect(s).toMatchObject({ strategy: 'warm', minWarm: 2, env: { A: '1', B: '2' } })
    expect((await k('fn', 'deploy', 'keep', '--unset', 'env.A', '--unset', 'min-warm')).code).toBe(0)
    s = await spec('keep')
    expect(s.env).toEqual({ B: '2' })
    expect(s.minWarm).toBeUndefined()
    const bad = await k('fn', 'deploy', 'keep', '--unset', 'colour')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('--unset colour: not a field that can be reset; use one of env, timeout')
  })

  it('a strategy change drops the settings of the old strategy and says so', async () => {
    expect((await k('fn', 'deploy', 'keep', '--min-warm', '2')).code).toBe(0)
    const r = await k('fn', 'deploy', 'keep', '--strategy', 'pool')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('dropped minWarm 2 (applies to strategy warm)')
    expect((await spec('keep')).minWarm).toBeUndefined()
  })

  it('durations are seconds unless they carry a unit; sizes are Kubernetes quantities; ambiguous ones are refused with the fix', async () => {
    expect((await k('fn', 'deploy', 'units', '--code', HELLO, '--timeout', '30', '--cpu', '500m', '--memory', '128Mi')).code).toBe(0)
    expect(await spec('units')).toMatchObject({ timeoutMs: 30_000, resources: { cpu: 0.5, memory: '128Mi' } })
    expect((await k('fn', 'deploy', 'units', '--timeout', '1500ms')).code).toBe(0)
    expect((await spec('units')).timeoutMs).toBe(1500)
    const milli = await k('fn', 'deploy', 'units', '--memory', '128m')
    expect(milli.code).toBe(1)
    expect(milli.stderr).toContain('m is milli in Kubernetes quantities; write 128Mi (mebibytes) or 128M (megabytes)')
    const bare = await k('fn', 'deploy', 'units', '--memory', '128')
    expect(bare.code).toBe(1)
    expect(bare.stderr).toContain('give a unit: 128Mi')
    const dur = await k('fn', 'deploy', 'units', '--timeout', '30x')
    expect(dur.code).toBe(1)
    expect(dur.stderr).toContain('not a duration: "30x"')
    // The API refuses the ambiguous quantity too.
    const api = await p.call('/v1/functions/units', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'units' }, spec: { ...(await spec('units')), resources: { memory: '128m' } } }) })
    expect(api.status).toBe(400)
    expect(api.json().error).toBe('KILN_ERR_VALIDATION')
  })

  it('a setting without effect under the strategy is refused, by the CLI and by the API (KILN_ERR_INEFFECTIVE_SETTING)', async () => {
    const r = await k('fn', 'deploy', 'units', '--min-warm', '3')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('--min-warm: has no effect with strategy pool')
    const current = await spec('units')
    const api = await p.call('/v1/functions/units', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'units' }, spec: { ...current, minWarm: 3 } }) })
    expect(api.status).toBe(400)
    expect(api.json()).toMatchObject({ error: 'KILN_ERR_INEFFECTIVE_SETTING' })
    expect(api.json().message).toContain('spec.minWarm: has no effect with strategy pool')
    const recycle = await p.call('/v1/functions/units', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'units' }, spec: { ...current, maxRequests: 5 } }) })
    expect(recycle.json().error).toBe('KILN_ERR_INEFFECTIVE_SETTING')
  })

  it('validation errors list the allowed values', async () => {
    const r = await k('fn', 'deploy', 'units', '--strategy', 'warmm')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('must be one of pool, warm, dedicated')
    const api = await p.call('/v1/functions/units', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'units' }, spec: { ...(await spec('units')), strategy: 'warmm' } }) })
    expect(api.status).toBe(400)
    expect(api.json().message).toBe('Function: spec.strategy: must be one of pool, warm, dedicated (got "warmm")')
  })

  it('-o json|yaml|wide|name print their format; any other exits 1 before the command runs', async () => {
    const json = await k('fn', 'get', 'cfg', '-o', 'json')
    expect(JSON.parse(json.stdout).metadata.name).toBe('cfg')
    const yaml = await k('fn', 'get', 'cfg', '-o', 'yaml')
    expect(parseYaml(yaml.stdout).metadata.name).toBe('cfg')
    const name = await k('fn', 'list', '-o', 'name')
    expect(name.stdout.split('\n')).toContain('function/cfg')
    const wide = await k('fn', 'list', '-o', 'wide')
    expect(wide.stdout.split('\n')[0]).toContain('MEMORY')
    const bad = await k('fn', 'list', '-o', 'foo')
    expect(bad.code).toBe(1)
    expect(bad.stdout).toBe('')
    expect(bad.stderr).toContain('-o foo: unknown output format; use one of table, wide, json, yaml, name')
  })

  it('fn get shows limits, environment names (never values) and strategy settings', async () => {
    expect((await k('fn', 'deploy', 'shown', '--code', HELLO, '--strategy', 'dedicated', '--min-scale', '1', '--max-scale', '3', '--memory', '64Mi', '--env', 'TOKEN=s3cret')).code).toBe(0)
    const r = await k('fn', 'get', 'shown')
    expect(r.stdout).toMatch(/strategy\s+dedicated, minScale 1, maxScale 3/)
    expect(r.stdout).toMatch(/limits\s+cpu none, memory 64Mi, pids none/)
    expect(r.stdout).toMatch(/env\s+TOKEN/)
    expect(r.stdout).not.toContain('s3cret')
  })

  it('-d @file and -d @- send a file and standard input', async () => {
    const echo = join(dir, 'echo.mjs')
    await writeFile(echo, 'export default async (req) => ({ status: 200, body: `got: ${req.body}` })\n')
    expect((await k('fn', 'deploy', 'echo', '--code', echo)).code).toBe(0)
    const file = join(dir, 'body.txt')
    await writeFile(file, 'from a file')
    const a = await k('fn', 'invoke', 'echo', '-d', `@${file}`)
    expect(a.code, a.stderr).toBe(0)
    expect(a.stdout).toBe('got: from a file')
    const b = await kiln(['fn', 'invoke', 'echo', '-d', '@-', '--server', p.url], {}, 'from stdin')
    expect(b.code, b.stderr).toBe(0)
    expect(b.stdout).toBe('got: from stdin')
    const missing = await k('fn', 'invoke', 'echo', '-d', '@/nonexistent/file')
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('cannot read /nonexistent/file')
  })

  it('fn logs --since and -f: lines of the last minutes, then new lines as they come', async () => {
    expect((await k('fn', 'deploy', 'logger', '--code', LOGS)).code).toBe(0)
    expect((await p.call('/fn/logger?tag=first')).status).toBe(200)
    await waitUntil('the first line is in the log', async () => (await k('fn', 'logs', 'logger')).stdout.includes('first'))
    const since = await k('fn', 'logs', 'logger', '--since', '10m')
    expect(since.code).toBe(0)
    expect(since.stdout).toContain('hello to stdout first')
    const badSince = await k('fn', 'logs', 'logger', '--since', 'yesterday')
    expect(badSince.code).toBe(1)
    const env = { ...process.env, KILN_DATA: p.dataDir, XDG_CONFIG_HOME: dir, KILN_TOKEN: '' }
    const follow = spawn(process.execPath, [KILN, 'fn', 'logs', 'logger', '-f', '--since', '10m', '--server', p.url], { env })
    let out = ''
    follow.stdout.on('data', (d) => (out += d))
    try {
      await waitUntil('follow printed the old line', async () => out.includes('first'))
      expect((await p.call('/fn/logger?tag=second')).status).toBe(200)
      await waitUntil('follow printed the new line', async () => out.includes('hello to stdout second'))
      expect(out.split('\n').filter((l) => l.includes('hello to stdout first')).length).toBe(1)
    } finally {
      follow.kill('SIGTERM')
    }
  })

  it('delete refuses while routes and workflows use the function, naming them (KILN_ERR_IN_USE); --cascade deletes them too', async () => {
    expect((await k('fn', 'deploy', 'used', '--code', HELLO)).code).toBe(0)
    expect((await k('route', 'add', '--path', '/used', '--function', 'used')).code).toBe(0)
    const wf = join(dir, 'wf.yaml')
    await writeFile(wf, 'name: uses\ntasks:\n  a: {function: used}\noutput: "{{ $.tasks.a.output }}"\n')
    expect((await k('wf', 'deploy', wf)).code).toBe(0)
    const r = await k('fn', 'delete', 'used')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('function "used" is used by route "get-used", workflow "uses"')
    const api = await p.call('/v1/functions/used', { method: 'DELETE' })
    expect(api.status).toBe(409)
    expect(api.json()).toMatchObject({ error: 'KILN_ERR_IN_USE', dependents: [{ kind: 'HTTPTrigger', name: 'get-used' }, { kind: 'Workflow', name: 'uses' }] })
    const c = await k('fn', 'delete', 'used', '--cascade')
    expect(c.code, c.stderr).toBe(0)
    expect(c.stderr).toContain('deleted function used and HTTPTrigger get-used, Workflow uses')
    expect((await p.call('/v1/triggers/get-used')).status).toBe(404)
    expect((await p.call('/v1/workflows/uses')).status).toBe(404)
  })

  it('kiln version and --version show client and server; an unreachable server is exit 2 after the client line', async () => {
    for (const args of [['version'], ['--version']]) {
      const r = await k(...args)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^client {2}\d+\.\d+\.\d+\nserver {2}\d+\.\d+\.\d+ \(http/)
    }
    const down = await kiln(['version', '--server', `http://127.0.0.1:${await freePort()}`])
    expect(down.code).toBe(2)
    expect(down.stdout).toMatch(/^client {2}\d/)
  })

  it('kiln completion bash completes commands and subcommands; zsh loads it through bashcompinit; other shells exit 1', async () => {
    const script = (await kiln(['completion', 'bash'])).stdout
    const file = join(dir, 'kiln.bash')
    await writeFile(file, script)
    const complete = (words: string[]) => spawnSync('bash', ['-c', `source ${file}; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _kiln_complete; echo "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).stdout.trim().split(' ')
    expect(complete(['kiln', 'ap'])).toEqual(['apply'])
    expect(complete(['kiln', 'fn', 'de']).sort()).toEqual(['delete', 'deploy'])
    expect(complete(['kiln', 'fn', 'deploy', '--min-'])).toEqual(['--min-warm', '--min-scale'])
    expect((await kiln(['completion', 'zsh'])).stdout).toContain('bashcompinit')
    expect((await kiln(['completion', 'fish'])).code).toBe(1)
  })

  it('a port in use is a clear error with exit 1, not a stack', async () => {
    const held: Server = createServer()
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', () => r()))
    const port = (held.address() as { port: number }).port
    try {
      const r = await kiln(['up', '--port', String(port), '--data', join(dir, 'up-data'), '--log-level', 'silent'])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${port}: the port is in use`)
      expect(r.stderr).not.toMatch(/\n\s+at /)
      // What it started before the listen failed (pools booting in their cgroups) went with it: no
      // cgroup root of its data dir is left in any hierarchy.
      expect(cgroupRootsOf(join(dir, 'up-data'))).toEqual([])
    } finally {
      held.close()
    }
  })

  it('fn new writes a starter that deploys as it is; fn run serves it locally and reloads on change', async () => {
    const starter = join(dir, 'starter')
    const made = await kiln(['fn', 'new', 'starter', '--lang', 'python', '--shape', 'fission', '--dir', starter])
    expect(made.code, made.stderr).toBe(0)
    const applied = await k('apply', '-f', join(starter, 'function.yaml'))
    expect(applied.code, applied.stderr).toBe(0)
    expect((await p.call('/fn/starter?name=Ada')).text).toBe('hello Ada\n')

    const port = await freePort()
    const run = spawn(process.execPath, [KILN, 'fn', 'run', starter, '--port', String(port)], { env: { ...process.env, XDG_CONFIG_HOME: dir } })
    let err = ''
    run.stderr.on('data', (d) => (err += d))
    const get = async () => {
      try { return await (await fetch(`http://127.0.0.1:${port}/?name=Bo`)).text() } catch { return '' }
    }
    try {
      await waitUntil('fn run serves', async () => (await get()) === 'hello Bo\n')
      const main = join(starter, 'main.py')
      await writeFile(main, (await readFile(main, 'utf8')).replace('hello %s', 'howdy %s'))
      await waitUntil('fn run reloaded', async () => (await get()) === 'howdy Bo\n')
      expect(err).toContain('shape fission')
    } finally {
      const kids = await childrenOf(run.pid!)
      run.kill('SIGINT')
      await new Promise((r) => run.once('exit', r))
      // Its runtimes go with it.
      await waitUntil('the runtimes exited', async () => kids.every((pid) => { try { process.kill(pid, 0); return false } catch { return true } }))
    }
  })
})
