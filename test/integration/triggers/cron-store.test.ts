// The CronStore contract, run against both implementations: SQLite and a real redis-server.
import { afterEach, describe, expect, it } from 'vitest'
import { RedisCronStore } from '../../../triggers/cron/redis-store.js'
import { SqliteCronStore } from '../../../triggers/cron/sqlite-store.js'
import type { CronStore } from '../../../triggers/cron/store.js'
import { useRedis } from '../../helpers/redis.js'
import { stateKinds, type Backend } from './stores.js'

const redis = useRedis()
const T0 = 1_700_000_000_000

const storeOver = (b: Backend): CronStore => (b.sqlite ? new SqliteCronStore(b.sqlite) : new RedisCronStore(b.redis!, b.prefix))

describe.each(stateKinds(redis))('cron store: $name', (kind) => {
  const open: Backend[] = []
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close()
  })
  const fresh = () => {
    const b = kind.open()
    open.push(b)
    return { b, store: storeOver(b) }
  }

  it('records the last slot handled per trigger, keeps it across a reopen, and forgets it on delete', async () => {
    const { b, store } = fresh()
    expect(await store.get('nightly')).toBeUndefined()
    await store.record({ trigger: 'nightly', lastSlot: T0, lastRunAt: T0 + 3, lastOutcome: 'started', lastInvocationId: 'inv-1' })
    await store.record({ trigger: 'hourly', lastSlot: T0 + 1, lastRunAt: T0 + 4, lastOutcome: 'skipped' })
    await store.record({ trigger: 'nightly', lastSlot: T0 + 10, lastRunAt: T0 + 12, lastOutcome: 'skipped', lastInvocationId: 'inv-1' })
    const again = storeOver(b.reopen())
    expect(await again.get('nightly')).toEqual({ trigger: 'nightly', lastSlot: T0 + 10, lastRunAt: T0 + 12, lastOutcome: 'skipped', lastInvocationId: 'inv-1' })
    expect((await again.list()).map((p) => p.trigger)).toEqual(['hourly', 'nightly'])
    await again.delete('nightly')
    expect(await store.get('nightly')).toBeUndefined()
    expect((await store.list()).map((p) => p.trigger)).toEqual(['hourly'])
  })

  it('one owner holds a schedule\'s lease until it runs out; the lease and the progress do not overwrite each other', async () => {
    const { store } = fresh()
    expect(await store.lease('t', 'a', T0, T0 + 1000)).toBe(true)
    expect(await store.lease('t', 'b', T0 + 500, T0 + 1500)).toBe(false)
    expect(await store.lease('t', 'a', T0 + 600, T0 + 1600)).toBe(true) // renewed
    await store.record({ trigger: 't', lastSlot: T0, lastRunAt: T0, lastOutcome: 'started', lastInvocationId: 'x' })
    expect(await store.lease('t', 'b', T0 + 1500, T0 + 2500)).toBe(false)
    expect(await store.lease('t', 'b', T0 + 1601, T0 + 2601)).toBe(true) // a's ran out
    expect(await store.lease('t', 'a', T0 + 1700, T0 + 2700)).toBe(false)
    expect(await store.get('t')).toEqual({ trigger: 't', lastSlot: T0, lastRunAt: T0, lastOutcome: 'started', lastInvocationId: 'x' })
    expect(await store.lease('other', 'a', T0, T0 + 10)).toBe(true)
  })
})
