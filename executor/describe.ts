// A function's live status as the API and `kiln fn get` show it: strategy, counters, instances with
// their state (warming, ready, busy, draining), node, age and requests served, isolation and the
// adaptive policy's figures — summed over its live versions, with each version's own figures and
// weight in `versions`. The version serving most of the traffic speaks for the function's settings.
import type { FunctionEntry } from './function-entry.js'
import type { FunctionState } from './function-state.js'

export function describeFunction(entry: FunctionEntry, now: number): Record<string, unknown> {
  const states = [...entry.states.values()].sort((a, b) => a.fnVersion - b.fnVersion)
  const main = entry.primary()
  let requests = 0, specializations = 0, coldStarts = 0, returned = 0, queued = 0, specializing = 0
  const instances: Record<string, unknown>[] = []
  for (const fs of states) {
    requests += fs.requests
    specializations += fs.specializations
    coldStarts += fs.coldStarts
    returned += fs.returned
    queued += fs.queue.length
    specializing += fs.provisions.length
    for (const r of fs.instances) instances.push(r.describe(now))
    for (const r of fs.loading) instances.push({ ...r.describe(now), state: 'warming', functionVersion: fs.fnVersion })
  }
  const spec = main?.fn.spec ?? entry.fn.spec
  return {
    strategy: main?.strategy ?? spec.strategy ?? 'pool', reuse: main?.reuse ?? spec.reuse ?? 'reuse', shape: spec.shape ?? 'kiln',
    version: main?.version ?? '', functionVersion: main?.fnVersion, concurrency: main?.concurrency,
    requests, specializations, coldStarts, returnedToPool: returned, queued, specializing, instances,
    versions: states.map((fs) => describeVersion(entry, fs)),
    ...(main?.adaptive ? { adaptive: main.adaptive.describe(now) } : {}),
    ...(entry.isolation ? { isolation: { reason: entry.isolation.reason, by: entry.isolation.by, since: new Date(entry.isolation.at).toISOString(), evidence: entry.isolation.evidence } } : {}),
    ...(!entry.isolation && main && main.noisyStreak > 0 ? { noisy: main.lastEvidence } : {}),
  }
}

function describeVersion(entry: FunctionEntry, fs: FunctionState): Record<string, unknown> {
  let ready = 0
  for (const r of fs.instances) if (r.state === 'ready') ready++
  return {
    version: fs.fnVersion, weight: entry.weightOf(fs.fnVersion), share: fs.share, routed: fs.routed,
    requests: fs.requests, coldStarts: fs.coldStarts, specializations: fs.specializations,
    instances: fs.instances.length, ready, warming: fs.loading.size, queued: fs.queue.length,
    scale: { ...fs.scale.describe(), ...fs.inflightLimit.describe() },
  }
}
