// Nodes and isolation: where instances run (labels, taints, capacity, usage), the functions isolated
// now (released by hand: POST /v1/functions/NAME/release), and the platform's events with their
// evidence (isolations, releases, crashes, out-of-memory kills, canary steps).
import { useAction } from '../action'
import { api, nsQuery } from '../api'
import { ago, Badge, bytes, Empty, ErrorLine, Evidence, refName, Section } from '../components/common'
import { useWatch } from '../live'
import type { FunctionView, NodeView, Whoami } from '../types'
import { LiveDot } from './functions'

export function Nodes({ namespace, me }: { namespace: string; me: Whoami }) {
  const admin = me.role === 'admin'
  const live = useWatch(admin ? ['nodes', 'functions', 'events'] : ['functions', 'events'], namespace)
  const nodes = (live.data.nodes as NodeView[] | undefined) ?? []
  const isolated = ((live.data.functions as FunctionView[] | undefined) ?? []).filter((f) => f.status.isolation)
  const events = [...live.events].reverse()
  return (
    <>
      {admin && (
        <Section title="Nodes" actions={<LiveDot connected={live.connected} />}>
          <ErrorLine error={live.error ?? live.problem} />
          {live.data.nodes === undefined ? <Empty>Loading…</Empty> : (
            <table class="grid nodes">
              <thead><tr><th>node</th><th>taints</th><th>capacity</th><th>instances</th><th>cpu</th><th>memory</th></tr></thead>
              <tbody>
                {nodes.map((n) => (
                  <tr data-node={n.name}>
                    <td>{n.name} <span class="muted">{Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(' ')}</span></td>
                    <td>{n.taints.map((t) => <code>{t.key}{t.value ? `=${t.value}` : ''}:{t.effect}</code>)}</td>
                    <td>{n.capacity.cpus ?? '–'} cpu · {n.capacity.memory ?? '–'}{n.capacity.cpuset ? ` · cpuset ${n.capacity.cpuset}` : ''}</td>
                    <td>{n.usage.instances} <span class="muted">{summarize(n.instances.map((i) => i.function ?? 'generic'))}</span></td>
                    <td>{n.usage.cpuCores}</td><td>{bytes(n.usage.memoryBytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
      )}
      <Section title="Isolated functions">
        {isolated.length === 0 ? <Empty>No function is isolated.</Empty> : (
          <table class="grid isolated">
            <thead><tr><th>function</th><th>since</th><th>by</th><th>reason</th><th>evidence</th><th /></tr></thead>
            <tbody>{isolated.map((f) => <IsolatedRow fn={f} admin={admin} />)}</tbody>
          </table>
        )}
      </Section>
      <Section title="Events">
        {events.length === 0 ? <Empty>No events yet.</Empty> : (
          <ul class="events">
            {events.map((e) => (
              <li data-event={e.type} data-function={e.function}>
                <Badge value={e.type} /> <strong>{e.function ?? ''}</strong> <span class="muted" title={e.at}>{ago(e.at)}</span>
                <div>{e.reason}</div>
                <Evidence evidence={e.evidence} />
              </li>
            ))}
          </ul>
        )}
      </Section>
    </>
  )
}

function IsolatedRow({ fn, admin }: { fn: FunctionView; admin: boolean }) {
  const iso = fn.status.isolation!
  const ns = fn.metadata.namespace ?? 'default'
  const release = useAction(() => api(`/functions/${encodeURIComponent(fn.metadata.name)}/release${nsQuery(ns)}`, { method: 'POST', body: {} }))
  return (
    <tr data-function={refName(fn.metadata.name, ns)}>
      <td>{refName(fn.metadata.name, ns)}</td><td title={iso.since}>{ago(iso.since)}</td><td>{iso.by}</td><td>{iso.reason}</td>
      <td><Evidence evidence={iso.evidence} /></td>
      <td>{admin && <button class="release" disabled={release.busy} onClick={() => void release.run()}>Release</button>}<ErrorLine error={release.error} /></td>
    </tr>
  )
}

function summarize(names: string[]): string {
  const counts = new Map<string, number>()
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1)
  return [...counts].map(([n, c]) => `${n}×${c}`).join(' ')
}
