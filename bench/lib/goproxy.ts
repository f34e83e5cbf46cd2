// The Go httputil.ReverseProxy baseline: built from bench/baselines/goproxy with the machine's Go into
// a cache dir (rebuilt when main.go changes), run with GOMAXPROCS=1.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Baseline, stopChild, waitUp } from './nginx.js'
import { run } from './wrk.js'

export async function buildGoProxy(root: string, cacheDir: string): Promise<string> {
  const src = join(root, 'bench', 'baselines', 'goproxy')
  const hash = createHash('sha256').update(readFileSync(join(src, 'main.go'))).update(readFileSync(join(src, 'go.mod'))).digest('hex').slice(0, 12)
  mkdirSync(cacheDir, { recursive: true })
  const bin = join(cacheDir, `goproxy-${hash}`)
  if (existsSync(bin)) return bin
  const r = await run('sh', ['-c', `cd '${src}' && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o '${bin}' .`])
  if (r.code !== 0) throw new Error(`go build failed: ${r.stderr}`)
  return bin
}

export async function startGoProxy(o: { bin: string; port: number; upstream: string; socket?: string; cpu?: string }): Promise<Baseline> {
  const args = ['-listen', `127.0.0.1:${o.port}`, '-target', o.upstream, ...(o.socket ? ['-socket', o.socket] : [])]
  const env = { ...process.env, GOMAXPROCS: '1' }
  const child = o.cpu ? spawn('taskset', ['-c', o.cpu, o.bin, ...args], { stdio: ['ignore', 'ignore', 'inherit'], env }) : spawn(o.bin, args, { stdio: ['ignore', 'ignore', 'inherit'], env })
  const url = `http://127.0.0.1:${o.port}`
  await waitUp(url, child, 'goproxy')
  return { url, child, stop: () => stopChild(child) }
}
