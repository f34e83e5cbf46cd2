// Decides whether an unloaded instance is as clean as a generic one: compares what the process holds
// (handles, timers, child processes, process listeners, globals) with a snapshot taken before specialize.

export interface Baseline {
  resources: Map<string, number>
  listeners: Map<string | symbol, number>
  globals: Set<string>
}

// The runtime's own server connections (keep-alive from the platform) are not the function's: TCP
// sockets, or pipes when it listens on a Unix socket (KILN_SOCKET).
const OWN = process.env.KILN_SOCKET ? 'PipeWrap' : 'TCPSocketWrap'

function countResources(ownSockets: number): Map<string, number> {
  const m = new Map<string, number>()
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1)
  m.set(OWN, (m.get(OWN) ?? 0) - ownSockets)
  return m
}

function countListeners(): Map<string | symbol, number> {
  const m = new Map<string | symbol, number>()
  for (const e of process.eventNames()) m.set(e, process.listenerCount(e))
  return m
}

export function takeBaseline(ownSockets: number): Baseline {
  return { resources: countResources(ownSockets), listeners: countListeners(), globals: new Set(Object.keys(globalThis)) }
}

/** What the function left behind, compared with `b`; an empty list means clean. */
export function leftovers(b: Baseline, ownSockets: number): string[] {
  const out: string[] = []
  for (const [k, n] of countResources(ownSockets)) {
    const before = b.resources.get(k) ?? 0
    if (n > before) out.push(`${n - before} ${k}`)
  }
  for (const [k, n] of countListeners()) {
    const before = b.listeners.get(k) ?? 0
    if (n > before) out.push(`${n - before} process '${String(k)}' listener(s)`)
  }
  for (const k of Object.keys(globalThis)) if (!b.globals.has(k)) out.push(`global ${k}`)
  return out
}
