// The ExecutionStore contract, run against both implementations (memory and a real redis-server).
import { afterEach, describe, expect, it } from 'vitest'
import type { ExecutionEvent } from '../../../workflows/state/execution.js'
import { RedisExecutionStore } from '../../../workflows/state/redis-store.js'
import type { ExecutionStore } from '../../../workflows/state/store.js'
import { useRedis } from '../../helpers/redis.js'
import { storeKinds } from './stores.js'

const redis = useRedis()
const spec = { name: 'w', tasks: { a: { function: 'f' } } }
const created = (id: string, workflow = 'w', at = new Date().toISOString()): ExecutionEvent => ({
  type: 'execution.created',
  at,
  execution: { id, workflow, input: { x: 1 }, spec, depth: 0 },
})
const started = (task: string): ExecutionEvent => ({ type: 'task.started', at: new Date().toISOString(), task, state: { status: 'running', startedAt: '2025-01-01T00:00:00.000Z', attempts: 1 } })

describe.each(storeKinds(redis))('execution store: $name', (kind) => {
  const open: ExecutionStore[] = []
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
  })
  const fresh = () => {
    const c = kind.create()
    open.push(c.store)
    return c
  }

  it('folds appended events into the record and keeps the history in order', async () => {
    const { store } = fresh()
    await store.append('e1', created('e1'))
    await store.append('e1', started('a'))
    await store.append('e1', { type: 'task.succeeded', at: new Date().toISOString(), task: 'a', state: { status: 'succeeded', startedAt: 's', attempts: 1, output: { ok: true } } })
    await store.append('e1', { type: 'execution.succeeded', at: new Date().toISOString(), output: 42 })
    const exec = (await store.get('e1'))!
    expect(exec).toMatchObject({ id: 'e1', workflow: 'w', status: 'succeeded', input: { x: 1 }, output: 42, depth: 0, tasks: { a: { status: 'succeeded', output: { ok: true } } } })
    expect(exec.finishedAt).toBeDefined()
    expect((await store.events('e1')).map((e) => e.type)).toEqual(['execution.created', 'task.started', 'task.succeeded', 'execution.succeeded'])
    expect(await store.get('nope')).toBeUndefined()
    expect(await store.events('nope')).toEqual([])
  })

  it('keeps an index of unfinished executions, oldest first', async () => {
    const { store } = fresh()
    await store.append('a', created('a', 'w', '2025-01-01T00:00:01.000Z'))
    await store.append('b', created('b', 'w', '2025-01-01T00:00:02.000Z'))
    await store.append('c', created('c', 'w', '2025-01-01T00:00:03.000Z'))
    await store.append('b', { type: 'execution.failed', at: new Date().toISOString(), error: { code: 'X', message: 'x' } })
    expect(await store.unfinished()).toEqual(['a', 'c'])
  })

  it('lists summaries newest first, by workflow and status, with a limit', async () => {
    const { store } = fresh()
    await store.append('1', created('1', 'w', '2025-01-01T00:00:01.000Z'))
    await store.append('2', created('2', 'v', '2025-01-01T00:00:02.000Z'))
    await store.append('3', created('3', 'w', '2025-01-01T00:00:03.000Z'))
    await store.append('3', { type: 'execution.succeeded', at: new Date().toISOString(), output: null })
    expect((await store.list()).map((s) => s.id)).toEqual(['3', '2', '1'])
    expect((await store.list({ workflow: 'w' })).map((s) => s.id)).toEqual(['3', '1'])
    expect((await store.list({ status: 'running' })).map((s) => s.id)).toEqual(['2', '1'])
    expect((await store.list({ limit: 1 })).map((s) => s.id)).toEqual(['3'])
    expect((await store.list({ workflow: 'w' }))[0]).toMatchObject({ id: '3', workflow: 'w', status: 'succeeded' })
  })

  it('rejects a second create, events for unknown executions and events after the end', async () => {
    const { store } = fresh()
    await store.append('e', created('e'))
    await expect(store.append('e', created('e'))).rejects.toMatchObject({ code: 'KILN_ERR_CONFLICT' })
    await expect(store.append('x', started('a'))).rejects.toMatchObject({ code: 'KILN_ERR_EXECUTION_NOT_FOUND' })
    await store.append('e', { type: 'execution.succeeded', at: new Date().toISOString(), output: 1 })
    await expect(store.append('e', started('a'))).rejects.toMatchObject({ code: 'KILN_ERR_CONFLICT' })
    expect((await store.events('e')).length).toBe(2)
  })

  it('a second store over the same state sees the same executions', async () => {
    const { store, reopen } = fresh()
    await store.append('e', created('e'))
    await store.append('e', started('a'))
    const other = reopen()
    if (other !== store) open.push(other)
    expect((await other.get('e'))!.tasks.a!.status).toBe('running')
    expect(await other.unfinished()).toEqual(['e'])
  })
})

describe('redis execution store durability', () => {
  it('state survives a SIGKILL of redis-server (appendonly) and a reconnect', async () => {
    const prefix = `durable:${Date.now()}:`
    const store = new RedisExecutionStore({ redis: redis.current.url, prefix })
    await store.append('e', created('e'))
    await store.append('e', started('a'))
    await store.close()
    await redis.current.restart()
    const again = new RedisExecutionStore({ redis: redis.current.url, prefix })
    try {
      expect((await again.get('e'))!.tasks.a!.status).toBe('running')
      expect(await again.unfinished()).toEqual(['e'])
    } finally {
      await again.close()
    }
  })
})
