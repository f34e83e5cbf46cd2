// `npm run bench:boot`: what the sandbox adds to booting an instance (spawn to ready, the Node runtime
// without its self warm-up, as a request that waits for a boot has it), side by side in one run:
//   plain       no sandbox (sandbox.enabled: false): the runtime in its cgroup, on a Unix socket
//   no-network  bubblewrap + setpriv: own uid, mount/pid/ipc/uts/cgroup/network namespaces, loopback only
//   egress      the same with slirp4netns attached to the network namespace (the default)
// Variants take turns, boot after boot, so a change in the machine's load falls on all of them alike.
// Besides wall time it reports the cpu time a boot costs (its cgroup's usage when it is ready: bubblewrap,
// setpriv, slirp4netns and the runtime are all in it), which a busy machine does not distort.
// Reported, never asserted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalBackend } from '../cluster/local/backend.js'
import { detectCgroups } from '../cluster/local/cgroups/index.js'
import { Sandbox } from '../cluster/local/sandbox/sandbox.js'
import { defaultSandbox, type SandboxConfig } from '../core/config.js'
import { silentLogger } from '../core/logger.js'
import { distDir } from '../core/paths.js'
import { findRoot } from './lib/kiln-process.js'
import { ratio, summarize, type Summary } from './lib/percentiles.js'

const N = Number(process.env.BENCH_SAMPLES ?? 30)
const keepAlive = setInterval(() => undefined, 1000)

const VARIANTS: [string, Partial<SandboxConfig>][] = [
  ['plain', { enabled: false }],
  ['no-network', { network: 'none' }],
  ['egress', { network: 'egress' }],
]

async function main(): Promise<void> {
  const cgroups = await detectCgroups({ rootName: `kiln-bench-boot-${process.pid}` })
  const setups = await Promise.all(VARIANTS.map(async ([name, cfg]) => {
    const dataDir = mkdtempSync(join(tmpdir(), `kiln-bench-boot-${name}-`))
    const sandbox = await Sandbox.open({ config: { ...defaultSandbox(), ...cfg }, dataDir, logger: silentLogger, cgroups, readPackage: async () => undefined })
    const backend = new LocalBackend({ log: () => undefined, logger: silentLogger, cgroups, sandbox })
    return { name, dataDir, sandbox, backend, times: [] as number[], cpu: [] as number[] }
  }))
  const command = [process.execPath, join(distDir(), 'runtimes', 'node.js')]
  try {
    for (let i = 0; i < N + 2; i++) {
      for (const s of setups) {
        const t0 = performance.now()
        const inst = await s.backend.start({ id: `${s.name}-${i}`, runtime: 'node', protocol: 'kiln', command, env: {}, node: 'general', warmup: false })
        const ms = performance.now() - t0
        const usage = await s.backend.sample(inst.id)
        if (i >= 2) { // the first boots warm the page cache
          s.times.push(ms)
          if (usage) s.cpu.push(usage.cpuUsageUsec / 1000)
        }
        await s.backend.stop(inst.id, 0)
      }
    }
  } finally {
    for (const s of setups) {
      await s.backend.close()
      await s.sandbox.close()
      rmSync(s.dataDir, { recursive: true, force: true })
    }
    await cgroups.close()
  }
  const results: Record<string, Summary> = Object.fromEntries(setups.map((s) => [s.name, summarize(s.times)]))
  const cpu: Record<string, Summary> = Object.fromEntries(setups.filter((s) => s.cpu.length > 0).map((s) => [s.name, summarize(s.cpu)]))
  const report = {
    when: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version, cgroups: cgroups.mode },
    samples: N,
    results,
    cpuMs: cpu,
    ratios: {
      'no-network/plain (p50)': ratio(results['no-network'].p50, results.plain.p50),
      'egress/plain (p50)': ratio(results.egress.p50, results.plain.p50),
    },
    addedMs: {
      'namespaces and uid (p50)': Math.round((results['no-network'].p50 - results.plain.p50) * 100) / 100,
      'egress (p50)': Math.round((results.egress.p50 - results['no-network'].p50) * 100) / 100,
    },
  }
  console.log('\nboot to ready, Node runtime without its self warm-up (ms)')
  console.log('variant'.padEnd(12) + 'n'.padStart(5) + 'p50'.padStart(10) + 'p90'.padStart(10) + 'p99'.padStart(10))
  for (const [k, s] of Object.entries(results)) console.log(k.padEnd(12) + String(s.n).padStart(5) + s.p50.toFixed(2).padStart(10) + s.p90.toFixed(2).padStart(10) + s.p99.toFixed(2).padStart(10))
  for (const [k, v] of Object.entries(report.ratios)) console.log(`${k}: ${v}x`)
  for (const [k, v] of Object.entries(report.addedMs)) console.log(`added by ${k}: ${v} ms`)
  if (Object.keys(cpu).length > 0) {
    console.log('\ncpu time of a boot, from its cgroup (ms)')
    for (const [k, c] of Object.entries(cpu)) console.log(k.padEnd(12) + String(c.n).padStart(5) + c.p50.toFixed(2).padStart(10) + c.p90.toFixed(2).padStart(10))
  }
  const file = join(findRoot(), 'bench', 'results', `instance-boot-${report.when.replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify(report, null, 2))
  console.log(`report: ${file}`)
}

await main().finally(() => clearInterval(keepAlive))
