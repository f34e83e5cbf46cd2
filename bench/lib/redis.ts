// A redis-server for benchmarks on a free 127.0.0.1 port with a temp dir, or undefined when the
// binary is not installed (the caller skips its Redis case and says so).
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './kiln-process.js'

export const REDIS_SERVER = process.env.KILN_REDIS_SERVER ?? '/usr/bin/redis-server'

/** `persistence`: the server's AOF setting, e.g. ['--appendonly', 'yes', '--appendfsync', 'always']. */
export async function startBenchRedis(persistence: string[] = ['--appendonly', 'no']): Promise<{ url: string; stop(): Promise<void> } | undefined> {
  if (!existsSync(REDIS_SERVER)) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-redis-'))
  const port = await freePort()
  const child: ChildProcess = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence], { stdio: 'ignore' })
  const { Redis } = await import('ioredis')
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 })
  probe.on('error', () => {})
  for (let i = 0; ; i++) {
    try {
      await probe.connect()
      await probe.ping()
      break
    } catch {
      if (i > 200) throw new Error('redis-server did not start')
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  probe.disconnect()
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
