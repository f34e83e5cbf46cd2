// The node:http + undici floor baselines (bench/baselines/node-floor/: proxy.mjs, and headers-proxy.mjs
// with Kiln's header contract), pinned like the others.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { type Baseline, stopChild, waitUp } from './nginx.js'

export async function startNodeFloor(o: { root: string; port: number; upstream: string; socket?: string; cpu?: string; headers?: boolean }): Promise<Baseline> {
  const args = [process.execPath, join(o.root, 'bench', 'baselines', 'node-floor', o.headers ? 'headers-proxy.mjs' : 'proxy.mjs'), o.upstream, String(o.port), ...(o.socket ? [o.socket] : [])]
  const child = o.cpu ? spawn('taskset', ['-c', o.cpu, ...args], { stdio: ['ignore', 'ignore', 'inherit'] }) : spawn(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] })
  const url = `http://127.0.0.1:${o.port}`
  await waitUp(url, child, o.headers ? 'node-floor with headers' : 'node-floor')
  return { url, child, stop: () => stopChild(child) }
}
