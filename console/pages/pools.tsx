// Pools: each runtime's generic pool (target, ready, booting) with the instances being specialized
// and in use; resized live (PUT /v1/pools/RUNTIME): the pool manager boots or stops instances to the
// new target, and the table follows.
import { useState } from 'preact/hooks'
import { useAction } from '../action'
import { api } from '../api'
import { Empty, ErrorLine, Section } from '../components/common'
import { useWatch } from '../live'
import type { PoolView } from '../types'
import { LiveDot } from './functions'

export function Pools() {
  const live = useWatch(['pools'], '*')
  const pools = (live.data.pools as PoolView[] | undefined) ?? []
  if (live.refused.includes('pools')) return <Section title="Pools"><Empty>Pools are for admin tokens.</Empty></Section>
  const runtimes = [...new Set(pools.map((p) => p.runtime))]
  return (
    <Section title="Pools" actions={<LiveDot connected={live.connected} />}>
      <ErrorLine error={live.error ?? live.problem} />
      {live.data.pools === undefined ? <Empty>Loading…</Empty> : pools.length === 0 ? <Empty>No pools.</Empty> : (
        <table class="grid pools">
          <thead><tr><th>runtime</th><th>placement</th><th>target</th><th>ready</th><th>booting</th><th>specializing</th><th>in use</th></tr></thead>
          <tbody>
            {pools.map((p) => (
              <tr data-pool={`${p.runtime}/${p.placement}`}>
                <td>{p.runtime}</td><td>{p.placement}</td><td class="target">{p.target}</td><td class="ready">{p.ready}</td><td>{p.booting}</td><td>{p.specializing}</td><td>{p.inUse}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {runtimes.map((rt) => <Resize runtime={rt} current={pools.find((p) => p.runtime === rt)?.target ?? 0} />)}
    </Section>
  )
}

function Resize({ runtime, current }: { runtime: string; current: number }) {
  const [size, setSize] = useState<string>('')
  const resize = useAction(async (n: number) => {
    await api(`/pools/${encodeURIComponent(runtime)}`, { method: 'PUT', body: { size: n } })
    setSize('')
  })
  const submit = (e: Event) => {
    e.preventDefault()
    const n = Number(size)
    if (size === '' || !Number.isInteger(n) || n < 0 || n > 1000) return resize.setError('a whole number from 0 to 1000')
    void resize.run(n)
  }
  return (
    <form method="post" class="inline resize" data-runtime={runtime} onSubmit={submit}>
      <label>Resize <strong>{runtime}</strong> to <input type="number" min="0" max="1000" name="size" placeholder={String(current)} value={size} onInput={(e) => setSize((e.target as HTMLInputElement).value)} /></label>
      <button type="submit" disabled={resize.busy}>Resize</button>
      <ErrorLine error={resize.error} />
    </form>
  )
}
