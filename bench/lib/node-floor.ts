// The node:http + undici floor baseline (bench/baselines/node-floor/proxy.mjs), pinned like the others.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { type Baseline, stopChild, waitUp } from './nginx.js'

export async function startNodeFloor(o: { root: string; port: number; upstream: string; socket?: string; cpu?: string }): Promise<Baseline> {
  const args = [process.execPath, join(o.root, 'bench', 'baselines', 'node-floor', 'proxy.mjs'), o.upstream, String(o.port), ...(o.socket ? [o.socket] : [])]
  const child = o.cpu ? spawn('taskset', ['-c', o.cpu, ...args], { stdio: ['ignore', 'ignore', 'inherit'] }) : spawn(args[0], args.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] })
  const url = `http://127.0.0.1:${o.port}`
  await waitUp(url, child, 'node-floor')
  return { url, child, stop: () => stopChild(child) }
}
