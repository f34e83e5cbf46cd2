// Starts a real nats-server with JetStream on a free 127.0.0.1 port and a temp store dir, for tests of
// queue triggers. `-sd DIR`: streams and consumers are files there, so a killed server restarted on the
// same dir comes back with its messages and consumer positions. Stopped (and its dir removed) in afterAll.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { freePort } from './cli.js'

// Debian installs it in /usr/sbin, which a non-root PATH may lack.
const NATS_SERVER = process.env.KILN_NATS_SERVER ?? ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find(existsSync) ?? 'nats-server'

export interface TestNats {
  port: number
  url: string
  /** SIGKILLs the server and starts it again on the same port and store dir (JetStream state survives). */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** True once the server answers a PING with PONG (its INFO line comes first). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    let buf = ''
    sock.setTimeout(500, () => sock.destroy())
    sock.on('data', (d) => {
      buf += d.toString()
      if (buf.startsWith('INFO ') && !buf.includes('PING')) sock.write('CONNECT {"verbose":false}\r\nPING\r\n')
      if (buf.includes('PONG')) { sock.end(); resolve(true) }
    })
    sock.on('error', () => resolve(false))
    sock.on('close', () => resolve(buf.includes('PONG')))
  })
}

export async function startNats(): Promise<TestNats> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-nats-'))
  const port = await freePort()
  let proc: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()

  const launch = async () => {
    const p = spawn(NATS_SERVER, ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    p.on('error', (err) => (stderr += String(err)))
    p.stderr!.on('data', (d) => (stderr += d.toString()))
    exited = new Promise((resolve) => p.once('exit', () => resolve()))
    proc = p
    const deadline = Date.now() + 15_000
    while (!(await ping(port))) {
      if (p.exitCode !== null) throw new Error(`nats-server exited (${p.exitCode}): ${stderr}`)
      if (Date.now() > deadline) throw new Error(`nats-server did not answer on port ${port}: ${stderr}`)
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
    url: `nats://127.0.0.1:${port}`,
    async restart() {
      await kill('SIGKILL')
      await launch()
    },
    async stop() {
      await kill('SIGTERM')
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Starts nats-server in beforeAll, stops it in afterAll; read `.current` inside tests. */
export function useNats(): { current: TestNats } {
  const ref = {} as { current: TestNats }
  beforeAll(async () => {
    ref.current = await startNats()
  })
  afterAll(async () => {
    await ref.current?.stop()
  })
  return ref
}
