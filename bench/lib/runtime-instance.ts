// bench/runtimes.ts: one runtime process started the way the platform starts it (PORT=0 and the ready
// line on fd 3 for kiln-protocol runtimes; a free $PORT and GET /healthz for Fission servers), with
// the time from spawn to ready, and its resident memory read from /proc.
import { freePort } from './kiln-process.js'
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { request } from 'undici'

export interface BenchInstance { url: string; pid: number; bootMs: number; child: ChildProcess; stop(): Promise<void> }


export async function startInstance(command: string[], protocol: 'kiln' | 'fission'): Promise<BenchInstance> {
  const port = protocol === 'kiln' ? 0 : await freePort()
  const t0 = performance.now()
  const child = spawn(command[0], command.slice(1), {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', KILN_WATCH_STDIN: '1', ...(protocol === 'kiln' ? { KILN_READY_FD: '3' } : {}) },
    stdio: ['pipe', 'ignore', 'inherit', protocol === 'kiln' ? 'pipe' : 'ignore'],
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  try {
    let actual = port
    if (protocol === 'kiln') {
      actual = await new Promise<number>((resolve, reject) => {
        let buf = ''
        ;(child.stdio[3] as Readable).on('data', (c: Buffer) => {
          buf += c.toString()
          const nl = buf.indexOf('\n')
          if (nl >= 0) resolve((JSON.parse(buf.slice(0, nl)) as { port: number }).port)
        })
        child.once('exit', (code) => reject(new Error(`${command.join(' ')} exited (${code}) before ready`)))
      })
    } else {
      for (;;) {
        try {
          const r = await request(`http://127.0.0.1:${port}/healthz`)
          await r.body.dump()
          if (r.statusCode === 200) break
        } catch { /* not yet */ }
        if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited before ready`)
        await new Promise((r) => setTimeout(r, 2))
      }
    }
    return { url: `http://127.0.0.1:${actual}`, pid: child.pid!, bootMs: performance.now() - t0, child, stop }
  } catch (e) {
    await stop()
    throw e
  }
}

/** Resident set size of a process, in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : NaN
}
