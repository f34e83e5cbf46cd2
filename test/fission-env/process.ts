// Starts test/fission-env/server.mjs the way Kiln starts a `protocol: fission` runtime: no ready line,
// a free port in $PORT, ready once GET /healthz answers. Every process started here is killed by
// stopAllFissionEnvs() (register it in afterEach/afterAll).
import { spawn } from 'node:child_process'
import { freePort } from '../helpers/cli.js'
import type { RuntimeProcess } from '../helpers/runtime-process.js'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'

export const FISSION_ENV_SERVER = join(dirname(fileURLToPath(import.meta.url)), 'server.mjs')

/** The same handle as a Kiln-protocol runtime's (test/helpers/runtime-process.ts). */
export type FissionEnvProcess = RuntimeProcess

const running = new Set<FissionEnvProcess>()


export async function startFissionEnv(opts: { args?: string[]; env?: Record<string, string> } = {}): Promise<FissionEnvProcess> {
  const port = await freePort()
  const child = spawn(process.execPath, [FISSION_ENV_SERVER, ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env, PORT: String(port), HOST: '127.0.0.1', KILN_WATCH_STDIN: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const stdout: string[] = []
  const stderr: string[] = []
  createInterface({ input: child.stdout! }).on('line', (l) => stdout.push(l))
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l))
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  const url = `http://127.0.0.1:${port}`
  const p: FissionEnvProcess = {
    url, port, pid: child.pid ?? 0, stdout, stderr, child, exited,
    async stop() {
      running.delete(p)
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    },
  }
  running.add(p)
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      const r = await request(`${url}/healthz`)
      await r.body.dump()
      if (r.statusCode === 200) return p
    } catch { /* not listening yet */ }
    if (child.exitCode !== null || Date.now() > deadline) {
      await p.stop()
      throw new Error(`fission env server did not start; stderr:\n${stderr.join('\n')}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

export async function stopAllFissionEnvs(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()))
}
