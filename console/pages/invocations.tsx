// Async invocations: the newest ones, and the dead letters (every attempt failed) apart, each opened
// with its attempts, error and result; a dead or failed one is redriven by hand
// (POST /v1/invocations/ID/retry: queued again, its attempts start over).
import { useEffect, useState } from 'preact/hooks'
import { useAction } from '../action'
import { api, type ApiError } from '../api'
import { ago, Badge, Empty, ErrorLine, Section } from '../components/common'
import { useWatch } from '../live'
import { href } from '../route'
import type { Invocation, InvocationSummary, Whoami } from '../types'
import { LiveDot } from './functions'

export function Invocations({ namespace, selected, me }: { namespace: string; selected?: string; me: Whoami }) {
  const live = useWatch(['invocations'], namespace)
  const data = live.data.invocations as { recent: InvocationSummary[]; dead: InvocationSummary[] } | undefined
  const canWrite = me.role === 'admin' || me.role === 'developer'
  return (
    <>
      <Section title="Dead letters" actions={<LiveDot connected={live.connected} />}>
        <ErrorLine error={live.error ?? live.problem} />
        {data === undefined ? <Empty>Loading…</Empty> : data.dead.length === 0 ? <Empty>No dead invocations.</Empty> : <Table rows={data.dead} kind="dead" canWrite={canWrite} />}
      </Section>
      {selected && <Detail id={selected} canWrite={canWrite} version={JSON.stringify(data?.recent.find((i) => i.id === selected) ?? data?.dead.find((i) => i.id === selected))} />}
      <Section title="Recent invocations">
        {data === undefined ? <Empty>Loading…</Empty> : data.recent.length === 0 ? <Empty>No async invocations yet: <code>curl -H 'Prefer: respond-async' …/fn/NAME</code> or <code>…/async/fn/NAME</code>.</Empty> : <Table rows={data.recent} kind="recent" canWrite={canWrite} />}
      </Section>
    </>
  )
}

function Table({ rows, kind, canWrite }: { rows: InvocationSummary[]; kind: string; canWrite: boolean }) {
  return (
    <table class={`grid invocations ${kind}`}>
      <thead><tr><th>invocation</th><th>function</th><th>status</th><th>attempts</th><th>source</th><th>created</th><th /></tr></thead>
      <tbody>
        {rows.map((i) => (
          <tr data-invocation={i.id} data-status={i.status}>
            <td><a href={href('invocations', i.id)}><code>{i.id}</code></a></td>
            <td>{i.namespace !== 'default' ? `${i.namespace}/` : ''}{i.function}</td>
            <td><Badge value={i.status} /></td><td>{i.attempts}</td><td>{i.source}</td>
            <td title={i.createdAt}>{ago(i.createdAt)}</td>
            <td>{canWrite && (i.status === 'dead' || i.status === 'failed') && <Redrive id={i.id} />}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function Redrive({ id }: { id: string }) {
  const redrive = useAction(() => api(`/invocations/${encodeURIComponent(id)}/retry`, { method: 'POST', body: {} }))
  return <><button class="redrive" disabled={redrive.busy} onClick={() => void redrive.run()}>Redrive</button><ErrorLine error={redrive.error} /></>
}

function Detail({ id, canWrite, version }: { id: string; canWrite: boolean; version: string }) {
  const [inv, setInv] = useState<Invocation | undefined>()
  const [error, setError] = useState<ApiError | undefined>()
  // Read again whenever the list shows it changed.
  useEffect(() => { api<Invocation>(`/invocations/${encodeURIComponent(id)}`).then((v) => { setInv(v); setError(undefined) }, setError) }, [id, version])
  return (
    <Section title={`Invocation ${id}`}>
      <ErrorLine error={error} />
      {inv && (
        <div class="invocation" data-invocation={inv.id}>
          <p><Badge value={inv.status} /> {inv.namespace !== 'default' ? `${inv.namespace}/` : ''}{inv.function} · {inv.attempts} attempts · from {inv.source}{inv.nextAttemptAt ? ` · next attempt ${inv.nextAttemptAt}` : ''}</p>
          {inv.request && <p class="muted">{inv.request.method} {inv.request.path} · {inv.request.bodyBytes} bytes</p>}
          {inv.error && <p class="error">{inv.error.code}{inv.error.status ? ` (${inv.error.status})` : ''}: {inv.error.message}</p>}
          {inv.result && <pre class="result">{inv.result.status}{'\n'}{inv.result.encoding === 'base64' ? '(binary body, base64)\n' : ''}{inv.result.body}</pre>}
          {canWrite && (inv.status === 'dead' || inv.status === 'failed') && <Redrive id={inv.id} />}
        </div>
      )}
    </Section>
  )
}
