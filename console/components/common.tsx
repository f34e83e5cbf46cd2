// Small pieces every page uses: a status badge, times, sizes, a function's name with its namespace,
// evidence as a list, and an error line.
import type { ComponentChildren } from 'preact'
import type { ApiError } from '../api'

export function Badge({ value, title }: { value: string; title?: string }) {
  return <span class={`badge st-${value}`} title={title}>{value}</span>
}

export function ago(iso: string | undefined): string {
  if (!iso) return ''
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : s < 86400 ? `${Math.floor(s / 3600)}h ago` : `${Math.floor(s / 86400)}d ago`
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return ''
  return ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return ''
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(0)} KiB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024 ** 3).toFixed(2)} GiB`
}

/** `ns/name`, or `name` in `default`. */
export function refName(name: string, namespace: string | undefined): string {
  return namespace && namespace !== 'default' ? `${namespace}/${name}` : name
}

export function Evidence({ evidence }: { evidence?: Record<string, unknown> }) {
  if (!evidence || Object.keys(evidence).length === 0) return null
  return (
    <dl class="evidence">
      {Object.entries(evidence).map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>
        </>
      ))}
    </dl>
  )
}

export function ErrorLine({ error }: { error?: ApiError | Error | string }) {
  if (!error) return null
  const text = typeof error === 'string' ? error : 'code' in error ? `${(error as ApiError).code}: ${error.message}` : error.message
  return <p class="error" role="alert">{text}</p>
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <header class="card-head"><h2>{title}</h2>{actions}</header>
      {children}
    </section>
  )
}
