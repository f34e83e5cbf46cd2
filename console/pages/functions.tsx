// Functions: each with its strategy, versions and traffic, instances by state with their node, warm
// and cold requests, and its request rate and p50/p99 latency of the last minutes. A function opened
// shows its instances one by one and its versions.
import { useEffect, useState } from 'preact/hooks'
import { api, nsQuery, type ApiError } from '../api'
import { Badge, bytes, duration, Empty, ErrorLine, refName, Section } from '../components/common'
import { Sparkline } from '../components/sparkline'
import { useWatch } from '../live'
import { href } from '../route'
import type { FunctionView, InstanceView, Series, VersionView, Whoami } from '../types'

const STATES = ['ready', 'busy', 'warming', 'draining'] as const

export function Functions({ namespace, selected, me }: { namespace: string; selected: string[]; me: Whoami }) {
  const live = useWatch(['functions', 'series'], namespace)
  const fns = (live.data.functions as FunctionView[] | undefined) ?? []
  const series = (live.data.series as Record<string, Series> | undefined) ?? {}
  const [selNs, selName] = selected
  const open = fns.find((f) => (f.metadata.namespace ?? 'default') === selNs && f.metadata.name === selName)
  return (
    <>
      <Section title="Functions" actions={<LiveDot connected={live.connected} />}>
        <ErrorLine error={live.error ?? live.problem} />
        {live.data.functions === undefined ? <Empty>Loading…</Empty> : fns.length === 0 ? <Empty>No functions here yet: <code>kiln fn deploy</code>.</Empty> : (
          <table class="grid functions">
            <thead>
              <tr><th>function</th><th>strategy</th><th>version</th><th>instances</th><th>warm / cold</th><th>requests/s</th><th>p50</th><th>p99</th></tr>
            </thead>
            <tbody>
              {fns.map((f) => {
                const ns = f.metadata.namespace ?? 'default'
                const ref = refName(f.metadata.name, ns)
                const s = f.status
                const sr = series[ref]
                const requests = s.requests ?? 0, cold = s.coldStarts ?? 0
                return (
                  <tr data-function={ref} class={open === f ? 'selected' : ''}>
                    <td><a href={href('functions', ns, f.metadata.name)}>{ref}</a> {s.isolation && <Badge value="isolated" title={s.isolation.reason} />}</td>
                    <td>{s.strategy ?? f.spec.strategy ?? 'pool'}</td>
                    <td>{versionText(f)}</td>
                    <td class="states">{STATES.map((st) => <StateCount state={st} instances={s.instances ?? []} />)}<Nodes instances={s.instances ?? []} /></td>
                    <td><span class="warm" title="requests served warm">{requests - cold}</span> / <span class="cold" title="requests that waited for a cold start">{cold}</span></td>
                    <td><Sparkline values={sr?.rate ?? []} label="requests/s" unit="/s" /></td>
                    <td><Sparkline values={sr?.p50 ?? []} label="p50" unit="ms" /></td>
                    <td><Sparkline values={sr?.p99 ?? []} label="p99" unit="ms" /></td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        )}
      </Section>
      {open && <FunctionDetail fn={open} me={me} />}
    </>
  )
}

export function LiveDot({ connected }: { connected: boolean }) {
  return <span class={`live ${connected ? 'on' : 'off'}`} title={connected ? 'live updates on' : 'connecting…'}>{connected ? 'live' : 'connecting'}</span>
}

function StateCount({ state, instances }: { state: string; instances: InstanceView[] }) {
  const n = instances.filter((i) => i.state === state).length
  return n === 0 ? null : <span class={`count st-${state}`} data-state={state} title={state}>{n} {state}</span>
}

function Nodes({ instances }: { instances: InstanceView[] }) {
  const nodes = [...new Set(instances.map((i) => i.node))]
  return nodes.length === 0 ? <span class="muted">none</span> : <span class="muted on-nodes"> on {nodes.join(', ')}</span>
}

function versionText(f: FunctionView): string {
  const s = f.status
  if (s.canary) return `canary → v${s.canary.to} at ${s.canary.weight}%`
  if (s.traffic && s.traffic.length > 0) return s.traffic.map((t) => `v${t.version}${s.traffic!.length > 1 ? ` ${t.weight}%` : ''}`).join(' · ')
  return s.latestVersion ? `v${s.latestVersion}` : ''
}

function FunctionDetail({ fn, me }: { fn: FunctionView; me: Whoami }) {
  const ns = fn.metadata.namespace ?? 'default'
  const [versions, setVersions] = useState<VersionView[] | undefined>()
  const [error, setError] = useState<ApiError | undefined>()
  const latest = fn.status.latestVersion
  useEffect(() => {
    api<VersionView[]>(`/functions/${encodeURIComponent(fn.metadata.name)}/versions${nsQuery(ns)}`).then(setVersions, setError)
  }, [fn.metadata.name, ns, latest, JSON.stringify(fn.status.traffic)])
  const instances = fn.status.instances ?? []
  return (
    <Section title={`${refName(fn.metadata.name, ns)}`} actions={me.role !== 'viewer' && <a href={href('logs', ns, fn.metadata.name)}>live log</a>}>
      <h3>Instances</h3>
      {instances.length === 0 ? <Empty>No instances now.</Empty> : (
        <table class="grid instances">
          <thead><tr><th>instance</th><th>state</th><th>node</th><th>version</th><th>in flight</th><th>served</th><th>age</th><th>cpu</th><th>memory</th></tr></thead>
          <tbody>
            {instances.map((i) => (
              <tr data-instance={i.id}>
                <td><code>{i.id}</code></td><td><Badge value={i.state} /></td><td>{i.node}</td><td>{i.functionVersion ?? ''}</td>
                <td>{i.inflight}</td><td>{i.requests}</td><td>{duration(i.ageMs)}</td><td>{i.cpuCores ?? ''}</td><td>{bytes(i.memoryBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {fn.status.isolation && (
        <p class="note">Isolated by {fn.status.isolation.by} since {fn.status.isolation.since}: {fn.status.isolation.reason}</p>
      )}
      <h3>Versions</h3>
      <ErrorLine error={error} />
      {versions === undefined ? <Empty>Loading…</Empty> : (
        <table class="grid versions">
          <thead><tr><th>version</th><th>traffic</th><th>aliases</th><th>made by</th><th>when</th><th>changed</th></tr></thead>
          <tbody>
            {[...versions].reverse().map((v) => (
              <tr data-version={v.spec.version}>
                <td>v{v.spec.version}</td><td>{v.status.weight}%</td><td>{v.status.aliases.join(', ')}</td>
                <td>{v.spec.createdBy.name ?? v.spec.createdBy.id}</td><td>{v.metadata.createdAt ?? ''}</td><td>{v.spec.changed.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  )
}
