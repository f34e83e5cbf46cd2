// Starts a real redis-server on a free 127.0.0.1 port with a temp dir, for tests of Redis-backed stores.
// `--save '' --appendonly yes --appendfsync always`: no RDB snapshots, but every write is in the AOF
// before its reply, so a killed server restarted on the same dir comes back with its data (with the
// default `everysec`, Redis postpones the AOF write while a background fsync is slow, and a SIGKILL
// then loses acknowledged writes: that made the durability tests flaky under load).
// Stopped (and its dir removed) in afterAll.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

const REDIS_SERVER = process.env.KILN_REDIS_SERVER ?? 'redis-server'

export interface TestRedis {
  port: number
  url: string
  /** SIGKILLs the server and starts it again on the same port and dir (state survives through the AOF) */
  restart(): Promise<void>
  /** SIGKILLs the server (an outage); `start()` brings it back on the same port and dir */
  kill(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    let buf = ''
    sock.setTimeout(500, () => sock.destroy())
    sock.on('connect', () => sock.write('PING\r\n'))
    sock.on('data', (d) => {
      buf += d.toString()
      if (buf.includes('\r\n')) {
        sock.end()
        resolve(buf.startsWith('+PONG'))
      }
    })
    sock.on('error', () => resolve(false))
    sock.on('close', () => resolve(buf.startsWith('+PONG')))
  })
}

export async function startRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-redis-'))
  const port = await freePort()
  let proc: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()

  const launch = async () => {
    const p = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'no'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    p.stderr!.on('data', (d) => (stderr += d.toString()))
    exited = new Promise((resolve) => p.once('exit', () => resolve()))
    proc = p
    const deadline = Date.now() + 10_000
    while (!(await ping(port))) {
      if (p.exitCode !== null) throw new Error(`redis-server exited (${p.exitCode}): ${stderr}`)
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`)
      await new Promise((r) => setTimeout(r, 25))
    }
  }
  const kill = async (signal: NodeJS.Signals) => {
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill(signal)
      await exited
    }
  }

  await launch()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await kill('SIGKILL')
      await launch()
    },
    kill: () => kill('SIGKILL'),
    start: () => launch(),
    async stop() {
      await kill('SIGTERM')
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Starts redis-server in beforeAll, stops it in afterAll; read `.current` inside tests. */
export function useRedis(): { current: TestRedis } {
  const ref = {} as { current: TestRedis }
  beforeAll(async () => {
    ref.current = await startRedis()
  })
  afterAll(async () => {
    await ref.current?.stop()
  })
  return ref
}
