// Starts a runtime program the way the platform does: PORT=0, the ready line on fd 3, stdout and
// stderr captured line by line. Every process started here is killed by stopAllRuntimes() (register
// it in afterEach/afterAll) even when a test fails half-way.
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'

export interface RuntimeProcess {
  url: string
  port: number
  pid: number
  stdout: string[]
  stderr: string[]
  child: ChildProcess
  /** resolves with the exit code (or signal) once the process has exited */
  exited: Promise<number | string>
  stop(): Promise<void>
}

export interface StartOptions {
  env?: Record<string, string>
  cwd?: string
  readyTimeoutMs?: number
}

const running = new Set<RuntimeProcess>()

export async function startRuntime(command: string[], opts: StartOptions = {}): Promise<RuntimeProcess> {
  const [cmd, ...args] = command
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, PORT: '0', HOST: '127.0.0.1', KILN_READY_FD: '3', KILN_WATCH_STDIN: '1' },
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  })
  const stdout: string[] = []
  const stderr: string[] = []
  createInterface({ input: child.stdout! }).on('line', (l) => stdout.push(l))
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l))
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))

  const stop = async () => {
    running.delete(rp)
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  }
  const rp: RuntimeProcess = { url: '', port: 0, pid: child.pid ?? 0, stdout, stderr, child, exited, stop }
  running.add(rp)

  const ready = new Promise<{ port: number; pid: number }>((resolve, reject) => {
    const fd3 = child.stdio[3] as Readable
    let buf = ''
    const timer = setTimeout(() => reject(new Error(`runtime not ready in time; stderr:\n${stderr.join('\n')}`)), opts.readyTimeoutMs ?? 15_000)
    fd3.on('data', (c: Buffer) => {
      buf += c.toString('utf8')
      const nl = buf.indexOf('\n')
      if (nl !== -1) {
        clearTimeout(timer)
        try {
          resolve(JSON.parse(buf.slice(0, nl)))
        } catch (err) {
          reject(err)
        }
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`runtime exited (${code}) before it was ready; stderr:\n${stderr.join('\n')}`))
    })
  })
  try {
    const r = await ready
    rp.port = r.port
    rp.pid = r.pid
    rp.url = `http://127.0.0.1:${r.port}`
    return rp
  } catch (err) {
    await stop()
    throw err
  }
}

export async function stopAllRuntimes(): Promise<void> {
  await Promise.all([...running].map((r) => r.stop()))
}
