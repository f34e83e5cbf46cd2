// Workflow executions: the newest ones live, and one opened as its DAG with each task's status,
// attempts and time (GET /v1/executions/ID?spec=1, read again while it runs).
import { useEffect, useState } from 'preact/hooks'
import { api, type ApiError } from '../api'
import { ago, Badge, duration, Empty, ErrorLine, Section } from '../components/common'
import { Dag } from '../components/dag'
import { useWatch } from '../live'
import { href } from '../route'
import type { Execution, ExecutionSummary } from '../types'
import { LiveDot } from './functions'

export function Executions({ namespace, selected }: { namespace: string; selected?: string }) {
  const live = useWatch(['executions'], namespace)
  const list = live.data.executions as ExecutionSummary[] | undefined
  const current = list?.find((e) => e.id === selected)
  return (
    <>
      {selected && <Detail id={selected} version={JSON.stringify(current)} />}
      <Section title="Workflow executions" actions={<LiveDot connected={live.connected} />}>
        <ErrorLine error={live.error ?? live.problem} />
        {list === undefined ? <Empty>Loading…</Empty> : list.length === 0 ? <Empty>No executions yet: <code>kiln wf run NAME</code>.</Empty> : (
          <table class="grid executions">
            <thead><tr><th>execution</th><th>workflow</th><th>status</th><th>started</th><th>took</th></tr></thead>
            <tbody>
              {list.map((e) => (
                <tr data-execution={e.id} class={e.id === selected ? 'selected' : ''}>
                  <td><a href={href('executions', e.id)}><code>{e.id}</code></a></td><td>{e.workflow}</td><td><Badge value={e.status} /></td>
                  <td title={e.createdAt}>{ago(e.createdAt)}</td><td>{e.finishedAt ? duration(Date.parse(e.finishedAt) - Date.parse(e.createdAt)) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  )
}

function Detail({ id, version }: { id: string; version: string }) {
  const [e, setE] = useState<Execution | undefined>()
  const [error, setError] = useState<ApiError | undefined>()
  useEffect(() => {
    let stop = false
    let timer: ReturnType<typeof setTimeout> | undefined
    // While it runs its tasks change without the list changing: read it again each second.
    const load = () => api<Execution>(`/executions/${encodeURIComponent(id)}?spec=1`).then((x) => {
      if (stop) return
      setE(x)
      setError(undefined)
      if (x.status === 'running') timer = setTimeout(load, 1000)
    }, (err: ApiError) => { if (!stop) setError(err) })
    void load()
    return () => { stop = true; clearTimeout(timer) }
  }, [id, version])
  return (
    <Section title={`Execution ${id}`}>
      <ErrorLine error={error} />
      {e && (
        <div class="execution" data-execution={e.id} data-status={e.status}>
          <p><Badge value={e.status} /> {e.workflow} · started {ago(e.createdAt)}{e.durationMs !== undefined ? ` · took ${duration(e.durationMs)}` : ''}</p>
          {e.error && <p class="error">{e.error.code}: {e.error.message}</p>}
          <div class="dag-wrap"><Dag execution={e} /></div>
          <table class="grid tasks">
            <thead><tr><th>step</th><th>status</th><th>attempts</th><th>took</th><th>error</th></tr></thead>
            <tbody>
              {Object.entries(e.tasks).map(([path, t]) => (
                <tr data-task={path} data-status={t.status}><td><code>{path}</code></td><td><Badge value={t.status} /></td><td>{t.attempts}</td><td>{duration(t.durationMs)}</td><td>{t.error ? `${t.error.code ?? ''} ${t.error.message ?? ''}` : ''}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  )
}
