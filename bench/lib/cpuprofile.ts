// Reads a V8 .cpuprofile (node --cpu-prof) and ranks frames by self time: the time of the samples whose
// leaf is that frame, summed over every node of the same function (name, file, line). `(idle)` (the
// event loop waiting) is left out, so percentages are of the busy time.
import { readFileSync } from 'node:fs'

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface Frame { name: string; where: string; selfMs: number; percent: number }

export function topFrames(file: string, n = 15): { frames: Frame[]; busyMs: number } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map<number, ProfileNode>()
  for (const node of p.nodes) byId.set(node.id, node)
  const self = new Map<number, number>() // node id → µs
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; the sample's own duration is the next delta.
    const dt = p.timeDeltas[i + 1] ?? 0
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dt)
  }
  const agg = new Map<string, { name: string; where: string; us: number }>()
  let total = 0
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame
    if (cf.functionName === '(idle)') continue
    total += us
    const where = cf.url ? `${shorten(cf.url)}:${cf.lineNumber + 1}` : ''
    const name = cf.functionName || '(anonymous)'
    const key = `${name}\u0000${where}`
    const a = agg.get(key)
    if (a) a.us += us
    else agg.set(key, { name, where, us })
  }
  const frames = [...agg.values()].sort((a, b) => b.us - a.us).slice(0, n)
    .map((f) => ({ name: f.name, where: f.where, selfMs: Math.round(f.us / 100) / 10, percent: Math.round((f.us / total) * 1000) / 10 }))
  return { frames, busyMs: Math.round(total / 1000) }
}

function shorten(url: string): string {
  const u = url.replace(/^file:\/\//, '')
  const nm = u.lastIndexOf('/node_modules/')
  if (nm >= 0) return u.slice(nm + 14)
  const d = u.indexOf('/dist/')
  return d >= 0 ? u.slice(d + 1) : u
}
