// Runs wrk (one thread, optionally pinned to a CPU) with a Lua reporter and returns its figures:
// requests/s, p50/p99 in milliseconds, and every kind of error wrk counts (socket and HTTP status ≥ 400).
import { spawn } from 'node:child_process'

export interface WrkResult {
  connections: number
  requests: number
  rps: number
  p50: number
  p90: number
  p99: number
  errors: number
  errorKinds: { connect: number; read: number; write: number; timeout: number; status: number }
}

export interface WrkOptions {
  url: string
  connections: number
  seconds: number
  /** bench/lib/wrk-report.lua (by path: run-ts runs a bundled copy of this file from elsewhere). */
  reporter: string
  /** taskset CPU list for wrk, e.g. '1'. */
  cpu?: string
  threads?: number
  timeoutS?: number
}

export function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
  })
}

export async function wrk(o: WrkOptions): Promise<WrkResult> {
  const threads = Math.min(o.threads ?? 1, o.connections)
  const args = ['-t', String(threads), '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', `${o.timeoutS ?? 10}s`, '-s', o.reporter, o.url]
  const { code, stdout, stderr } = o.cpu ? await run('taskset', ['-c', o.cpu, 'wrk', ...args]) : await run('wrk', args)
  const line = stdout.split('\n').find((l) => l.startsWith('KILN_WRK '))
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (${code}): ${stderr || stdout}`)
  const r = JSON.parse(line.slice('KILN_WRK '.length)) as Record<string, number>
  const errors = r.connect + r.read + r.write + r.timeout + r.status
  return {
    connections: o.connections,
    requests: r.requests,
    rps: Math.round((r.requests / r.durationUs) * 1e6),
    p50: r.p50 / 1000, p90: r.p90 / 1000, p99: r.p99 / 1000,
    errors,
    errorKinds: { connect: r.connect, read: r.read, write: r.write, timeout: r.timeout, status: r.status },
  }
}

