// ExecutionStore in Redis (ioredis): the distributed mode. Per execution an event list and a summary
// hash; a set of unfinished ids (what a restarted engine resumes) and sorted sets by creation time for
// listing. Every append is one Lua script, so the event, the summary and the indexes change atomically
// and the store's invariants (created once, nothing after finished) hold across engines.
import { Redis } from 'ioredis'
import { WorkflowError } from '../errors.js'
import { replay, type Execution, type ExecutionEvent, type ExecutionSummary } from './execution.js'
import type { ExecutionFilter, ExecutionStore } from './store.js'

export interface RedisExecutionStoreOptions {
  /** an ioredis client (left open by close()) or a redis:// URL (the store owns that connection) */
  redis: Redis | string
  /** key namespace, default `kiln:wf:` */
  prefix?: string
}

// KEYS: 1 events list, 2 summary hash, 3 unfinished set, 4 all-executions zset, 5 per-workflow zset
// ARGV: 1 event JSON, 2 event type, 3 id, 4 workflow, 5 score (ms), 6 at, 7 parentId ('' when none)
const APPEND = `
local status = redis.call('HGET', KEYS[2], 'status')
local t = ARGV[2]
if t == 'execution.created' then
  if status then return redis.error_reply('KILN_ERR_CONFLICT execution already exists') end
  redis.call('HSET', KEYS[2], 'id', ARGV[3], 'workflow', ARGV[4], 'status', 'running', 'createdAt', ARGV[6])
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[2], 'parentId', ARGV[7]) end
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[3])
else
  if not status then return redis.error_reply('KILN_ERR_EXECUTION_NOT_FOUND execution not found') end
  if status ~= 'running' then return redis.error_reply('KILN_ERR_CONFLICT execution already ' .. status) end
  if t == 'execution.succeeded' or t == 'execution.failed' then
    redis.call('HSET', KEYS[2], 'status', t == 'execution.succeeded' and 'succeeded' or 'failed', 'finishedAt', ARGV[6])
    redis.call('ZREM', KEYS[3], ARGV[3])
  end
end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
`

type RedisWithAppend = Redis & {
  kilnWfAppend(k1: string, k2: string, k3: string, k4: string, k5: string, ...argv: string[]): Promise<number>
}

export class RedisExecutionStore implements ExecutionStore {
  private readonly redis: RedisWithAppend
  private readonly owned: boolean
  private readonly prefix: string

  constructor(opts: RedisExecutionStoreOptions) {
    this.owned = typeof opts.redis === 'string'
    const client = typeof opts.redis === 'string' ? new Redis(opts.redis, { lazyConnect: false }) : opts.redis
    if (!('kilnWfAppend' in client)) client.defineCommand('kilnWfAppend', { numberOfKeys: 5, lua: APPEND })
    this.redis = client as RedisWithAppend
    this.prefix = opts.prefix ?? 'kiln:wf:'
  }

  private key(...parts: string[]): string {
    return this.prefix + parts.join(':')
  }

  async append(executionId: string, event: ExecutionEvent): Promise<void> {
    let workflow = ''
    let parentId = ''
    if (event.type === 'execution.created') {
      if (event.execution.id !== executionId) throw new WorkflowError('KILN_ERR_CONFLICT', 'execution.created carries another id')
      workflow = event.execution.workflow
      parentId = event.execution.parentId ?? ''
    }
    const score = String(Date.parse(event.at) || Date.now())
    try {
      await this.redis.kilnWfAppend(
        this.key('events', executionId),
        this.key('exec', executionId),
        this.key('unfinished'),
        this.key('executions'),
        this.key('workflow', workflow),
        JSON.stringify(event),
        event.type,
        executionId,
        workflow,
        score,
        event.at,
        parentId,
      )
    } catch (err) {
      const m = /^(KILN_ERR_\w+) (.*)$/.exec((err as Error).message)
      if (m) throw new WorkflowError(m[1] as 'KILN_ERR_CONFLICT', `execution ${executionId}: ${m[2]}`)
      throw err
    }
  }

  async events(executionId: string): Promise<ExecutionEvent[]> {
    const raw = await this.redis.lrange(this.key('events', executionId), 0, -1)
    return raw.map((r) => JSON.parse(r) as ExecutionEvent)
  }

  async get(executionId: string): Promise<Execution | undefined> {
    return replay(await this.events(executionId))
  }

  async list(filter: ExecutionFilter = {}): Promise<ExecutionSummary[]> {
    const limit = filter.limit ?? 100
    const index = filter.workflow !== undefined ? this.key('workflow', filter.workflow) : this.key('executions')
    const out: ExecutionSummary[] = []
    const page = Math.max(limit, 100)
    for (let start = 0; out.length < limit; start += page) {
      const ids = await this.redis.zrevrange(index, start, start + page - 1)
      if (ids.length === 0) break
      const pipe = this.redis.pipeline()
      for (const id of ids) pipe.hgetall(this.key('exec', id))
      const rows = (await pipe.exec()) ?? []
      for (const [err, row] of rows) {
        const h = row as Record<string, string> | null
        if (err || !h || !h.id) continue
        if (filter.status !== undefined && h.status !== filter.status) continue
        const s: ExecutionSummary = { id: h.id, workflow: h.workflow!, status: h.status as ExecutionSummary['status'], createdAt: h.createdAt! }
        if (h.finishedAt) s.finishedAt = h.finishedAt
        if (h.parentId) s.parentId = h.parentId
        out.push(s)
        if (out.length >= limit) break
      }
      if (ids.length < page) break
    }
    return out
  }

  async unfinished(): Promise<string[]> {
    return this.redis.zrange(this.key('unfinished'), 0, -1)
  }

  async close(): Promise<void> {
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect())
  }
}
