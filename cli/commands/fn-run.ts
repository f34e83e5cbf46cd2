// `kiln fn run FILE|DIR [--port P]`: the local dev loop. The code is built by the platform's builder
// (same entry finding, same shape detection), loaded into the platform's own runtime server (started
// from dist/ or runtimes/python/, specialized as the executor does), and served on --port through a
// small proxy; a change under the source folder rebuilds it into a fresh runtime, which takes over
// once loaded (a build or load error keeps the last good one serving and is printed).
import { spawn, type ChildProcess } from 'node:child_process'
import { watch, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { CliError, EXIT } from '../client.js'
import type { Globals } from '../globals.js'
import { keyValues } from '../deploy-flags.js'
import { addressInUse } from './up.js'
import { expandCommand } from '../../core/paths.js'
import { unpackArchive } from '../../core/package-archive.js'
import { parseUserDuration } from '../../core/quantity.js'

interface RunFlags { port: string; host: string; runtime?: string; entrypoint?: string; shape?: string; env?: string[]; timeout?: string }

const collect = (v: string, prev: string[] = []) => [...prev, v]

interface Loaded { child: ChildProcess; port: number; dir: string; sha256: string }

/** Starts a runtime server on an ephemeral port and waits for its ready line (fd 3). */
function startRuntime(language: string): Promise<{ child: ChildProcess; port: number }> {
  const argv = expandCommand(language === 'python' ? ['${PYTHON}', '${KILN_ROOT}/runtimes/python/server.py'] : ['${NODE}', '${KILN_DIST}/runtimes/node.js'])
  const child = spawn(argv[0], argv.slice(1), {
    // KILN_WATCH_STDIN: the runtime exits when this process does (its stdin closes), as under the platform.
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', KILN_READY_FD: '3', KILN_WATCH_STDIN: '1', KILN_RUNTIME: language },
    stdio: ['pipe', 'inherit', 'inherit', 'pipe'],
  })
  return new Promise((resolveReady, reject) => {
    let buf = ''
    const pipe = child.stdio[3] as NodeJS.ReadableStream
    pipe.on('data', (d: Buffer) => {
      buf += d.toString()
      const nl = buf.indexOf('\n')
      if (nl >= 0) {
        try { resolveReady({ child, port: (JSON.parse(buf.slice(0, nl)) as { port: number }).port }) } catch (e) { reject(e) }
      }
    })
    child.once('exit', (code) => reject(new CliError(`the ${language} runtime exited (${code}) before it was ready`, EXIT.USER)))
    child.once('error', reject)
  })
}

async function post(port: number, path: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((res, rej) => {
    const data = Buffer.from(JSON.stringify(body))
    const r = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': data.length } }, (m) => {
      let text = ''
      m.on('data', (c) => (text += c))
      m.on('end', () => res({ status: m.statusCode ?? 0, text }))
    })
    r.on('error', rej)
    r.end(data)
  })
}

export function registerFnRun(program: Command, g: Globals): void {
  const fn = program.commands.find((c) => c.name() === 'fn')!
  fn.command('run <source>')
    .description('serve one function locally, reloading on change (the platform\'s builder, runtime and shape detection)')
    .option('--port <port>', 'port to serve on', '8787')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--runtime <name>', 'node or python (default: from the code)')
    .option('--entrypoint <entry>', "entry file, 'file:export' or 'file.export'")
    .option('--shape <shape>', 'kiln | fission | openfaas | lambda (default: detected)')
    .option('--env <KEY=VALUE>', 'environment variable (repeatable)', collect)
    .option('--timeout <duration>', 'per-request timeout (seconds, or 30s)')
    .action(async (source: string, f: RunFlags) => {
      const { buildPackage, BuildError, describeGuess, languageOf } = await import('../../runtimes/builder/index.js')
      const src = resolve(source)
      try { statSync(src) } catch { throw new CliError(`${source}: no such file or folder`, EXIT.USER) }
      const language = languageOf({ source: src, runtime: f.runtime ?? '' })
      const env = keyValues(f.env, '--env') ?? {}
      const timeoutMs = f.timeout ? parseUserDuration(f.timeout) : 60_000
      const say = (s: string) => { if (!g.quiet) process.stderr.write(`${s}\n`) }
      let current: Loaded | undefined
      let version = 0

      const load = async (): Promise<void> => {
        const built = await buildPackage({ source: src, runtime: language, entrypoint: f.entrypoint })
        if (current?.sha256 === built.sha256) return
        const shape = f.shape ?? built.shape.shape ?? 'kiln'
        const dir = await mkdtemp(join(tmpdir(), 'kiln-run-'))
        await unpackArchive(built.archive, dir)
        const rt = await startRuntime(language)
        const res = await post(rt.port, '/v1/specialize', {
          function: { name: 'local', version: String(++version), entrypoint: built.entrypoint, env, timeoutMs, shape },
          code: { path: dir, sha256: built.sha256 },
        })
        if (res.status !== 200) {
          rt.child.kill('SIGKILL')
          await rm(dir, { recursive: true, force: true })
          throw new CliError(`the function did not load: ${res.text}`, EXIT.USER)
        }
        const old = current
        current = { child: rt.child, port: rt.port, dir, sha256: built.sha256 }
        if (old) { old.child.kill('SIGTERM'); await rm(old.dir, { recursive: true, force: true }) }
        const said = f.shape ? undefined : describeGuess(built.shape)
        say(`loaded ${built.entrypoint} (${language}, shape ${shape}, sha256 ${built.sha256.slice(0, 12)})${said ? `: ${said}` : ''}`)
      }
      try {
        await load()
      } catch (e) {
        if (e instanceof BuildError) throw new CliError(e.message, EXIT.USER, 'fix the error at the file:line shown', 'KILN_ERR_BUILD_FAILED')
        throw e
      }

      const server: Server = createServer((req, res) => {
        const target = current
        if (!target) { res.writeHead(503).end('no function loaded\n'); return }
        // No keep-alive to the runtime: a replaced runtime has no connection left to drain.
        const up = httpRequest({ host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: req.headers, agent: false }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers)
          r.pipe(res)
        })
        up.on('error', (err) => { if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }); res.end(`runtime unreachable: ${err.message}\n`) })
        req.pipe(up)
      })
      await new Promise<void>((res, rej) => {
        server.once('error', (e) => rej(addressInUse(Object.assign(e, { address: f.host, port: Number(f.port) })) ?? e))
        server.listen(Number(f.port), f.host, () => res())
      })
      say(`serving on http://${f.host}:${(server.address() as { port: number }).port} — edit ${source} and it reloads; Ctrl-C stops`)

      // Reload on change, debounced; one rebuild at a time.
      const root = statSync(src).isDirectory() ? src : dirname(src)
      let timer: NodeJS.Timeout | undefined
      let busy: Promise<void> = Promise.resolve()
      const watcher = watch(root, { recursive: true }, (_ev, file) => {
        if (file && /(^|\/)(node_modules|__pycache__|\.git)(\/|$)/.test(String(file))) return
        clearTimeout(timer)
        timer = setTimeout(() => {
          busy = busy.then(() => load().catch((e: Error) => say(`reload failed (the previous version keeps serving): ${e.message}`)))
        }, 150)
      })
      const stop = () => {
        watcher.close()
        server.close()
        current?.child.kill('SIGTERM')
        void (current ? rm(current.dir, { recursive: true, force: true }) : Promise.resolve()).finally(() => process.exit(0))
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      await new Promise(() => undefined)
    })
}
