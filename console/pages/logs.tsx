// A function's live log tail: its last lines, then each new one as its instances write it
// (GET /v1/functions/NAME/logs?follow=true, plain text, as `kiln fn logs -f` reads it). Viewers do
// not read logs.
import { useEffect, useRef, useState } from 'preact/hooks'
import { lines as readLines, nsQuery, type ApiError } from '../api'
import { Empty, ErrorLine, refName, Section } from '../components/common'
import { useWatch } from '../live'
import { href } from '../route'
import type { FunctionView, Whoami } from '../types'
import { LiveDot } from './functions'

const KEEP = 2000

export function Logs({ namespace, selected, me }: { namespace: string; selected: string[]; me: Whoami }) {
  const live = useWatch(['functions'], namespace)
  const fns = (live.data.functions as FunctionView[] | undefined) ?? []
  const [ns, name] = selected
  if (me.role === 'viewer') return <Section title="Logs"><Empty>A viewer token does not read function output.</Empty></Section>
  return (
    <>
      <Section title="Logs">
        {fns.length === 0 ? <Empty>No functions.</Empty> : (
          <nav class="pick">
            {fns.map((f) => {
              const fnNs = f.metadata.namespace ?? 'default'
              return <a href={href('logs', fnNs, f.metadata.name)} class={fnNs === ns && f.metadata.name === name ? 'active' : ''}>{refName(f.metadata.name, fnNs)}</a>
            })}
          </nav>
        )}
      </Section>
      {ns && name && <Tail namespace={ns} name={name} />}
    </>
  )
}

function Tail({ namespace, name }: { namespace: string; name: string }) {
  const [lines, setLines] = useState<string[]>([])
  const [connected, setConnected] = useState(false)
  const [error, setError] = useState<ApiError | undefined>()
  const [follow, setFollow] = useState(true)
  const box = useRef<HTMLPreElement>(null)
  useEffect(() => {
    const abort = new AbortController()
    setLines([])
    setError(undefined)
    void readLines(`/functions/${encodeURIComponent(name)}/logs${nsQuery(namespace, { follow: 'true', tail: '200' })}`, {
      // Each connection starts with the tail again: it replaces what is shown.
      onConnected: (c, err) => { setConnected(c); if (c) setLines([]); if (err) setError(err) },
      onLines: (more) => setLines((l) => [...l, ...more].slice(-KEEP)),
    }, abort.signal)
    return () => abort.abort()
  }, [namespace, name])
  useEffect(() => { if (follow && box.current) box.current.scrollTop = box.current.scrollHeight }, [lines, follow])
  return (
    <Section title={`${refName(name, namespace)} — live`} actions={<><label class="inline"><input type="checkbox" checked={follow} onChange={() => setFollow(!follow)} /> follow</label> <LiveDot connected={connected} /></>}>
      <ErrorLine error={error} />
      <pre class="log" ref={box} data-function={refName(name, namespace)}>{lines.length === 0 ? 'no output yet' : lines.join('\n')}</pre>
    </Section>
  )
}
