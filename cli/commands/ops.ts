// Operator commands: `kiln node list`, `kiln events`, `kiln fn isolate|release`.
import type { Command } from 'commander'
import { api } from '../client.js'
import { printData, printJson, structured, printTable, since } from '../output.js'
import type { Globals } from '../globals.js'

interface NodeView {
  name: string; labels: Record<string, string>; taints: { key: string; value?: string; effect: string }[]
  capacity: { cpus?: number; memory?: string; cpuset?: string }
  usage: { instances: number; cpuCores: number; memoryBytes: number }
  cgroups: { mode: string; reason?: string }
  sandbox?: { name: string; active: boolean; detail: string }[]
}
interface EventView { seq: number; at: string; type: string; function?: string; reason: string; evidence?: Record<string, unknown> }

export function registerOps(program: Command, g: Globals): void {
  program.command('node').description('virtual nodes (embedded) where instances run')
    .command('list').description('nodes with taints, capacity, usage and instances').action(async () => {
      const nodes = await api<NodeView[]>(g.server(), 'GET', '/nodes')
      if (structured(g.output)) return printData(g.output, nodes)
      printTable(['NAME', 'LABELS', 'TAINTS', 'CPUS', 'MEMORY', 'INSTANCES', 'CPU-USED', 'MEM-USED'], nodes.map((n) => [
        n.name,
        Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(','),
        n.taints.map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`).join(',') || '-',
        n.capacity.cpus ?? 'host', n.capacity.memory ?? 'host', n.usage.instances,
        n.usage.cpuCores.toFixed(2), `${Math.round(n.usage.memoryBytes / 1048576)}Mi`,
      ]))
      const cg = nodes[0]?.cgroups
      if (cg) process.stdout.write(`\ncgroups: ${cg.mode}${cg.reason ? ` (${cg.reason}: limits are not enforced; usage comes from /proc)` : ''}\n`)
      const sb = nodes[0]?.sandbox
      if (sb) {
        const missing = sb.filter((p) => !p.active)
        process.stdout.write(`sandbox: ${sb.filter((p) => p.active).map((p) => p.name).join(', ') || 'nothing'} active${missing.length ? `; MISSING: ${missing.map((p) => p.name).join(', ')}` : ''}\n`)
        for (const p of missing) process.stdout.write(`  ${p.name}: ${p.detail}\n`)
      }
    })

  program.command('events').description('platform events: isolations, releases, crashes')
    .option('--function <name>', 'only this function')
    .option('--type <type>', 'only this type, e.g. FunctionIsolated')
    .action(async (f: { function?: string; type?: string }) => {
      const q = new URLSearchParams()
      if (f.function) q.set('function', f.function)
      if (f.type) q.set('type', f.type)
      const events = await api<EventView[]>(g.server(), 'GET', `/events${q.size ? `?${q}` : ''}`)
      if (structured(g.output)) return printData(g.output, events)
      printTable(['AGE', 'TYPE', 'FUNCTION', 'REASON'], events.map((e) => [since(e.at), e.type, e.function, e.reason]))
    })

  const fn = program.commands.find((c) => c.name() === 'fn')!
  fn.command('isolate <name>').description('move a function onto isolated nodes now')
    .option('--reason <text>', 'why (recorded in events)')
    .action(async (name: string, f: { reason?: string }) => {
      const s = await api<Record<string, unknown>>(g.server(), 'POST', `/functions/${encodeURIComponent(name)}/isolate`, { reason: f.reason })
      if (structured(g.output)) return printData(g.output, s)
      process.stderr.write(`function ${name} isolated: its instances now run on isolated nodes\n`)
    })
  fn.command('release <name>').description('let an isolated function back onto general nodes')
    .action(async (name: string) => {
      const s = await api<Record<string, unknown>>(g.server(), 'POST', `/functions/${encodeURIComponent(name)}/release`, {})
      if (structured(g.output)) return printData(g.output, s)
      process.stderr.write(`function ${name} released from isolation\n`)
    })
}
