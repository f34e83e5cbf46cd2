// `kiln apply -f` of cron and queue triggers beside their function: created in order, re-applied
// unchanged (a broker URL's password compares as the API shows it, `***`), and deleted by `delete -f`.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kiln, ROOT } from '../helpers/cli.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'

const SPECS = join(ROOT, 'test', 'fixtures', 'declarative', 'events', 'specs')

describe('kiln apply -f: cron and queue triggers', () => {
  let p: TestPlatform
  const k = (...args: string[]) => kiln([...args, '--server', p.url])

  beforeAll(async () => { p = await startTestPlatform() })
  afterAll(async () => { await p?.stop() })

  it('creates the triggers after their function, and a second apply changes nothing', async () => {
    const r = await k('apply', '-f', SPECS)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['function/ticker created', 'crontrigger/every-minute created', 'queuetrigger/orders created'])
    const cron = (await p.call('/v1/crontriggers/every-minute')).json()
    expect(cron.spec).toMatchObject({ function: 'ticker', schedule: '* * * * *', concurrency: 'forbid', data: { from: 'cron' } })
    const mq = (await p.call('/v1/mqtriggers/orders')).json()
    expect(mq.spec).toMatchObject({ kind: 'redis-stream', topic: 'orders', function: 'ticker', maxRetries: 2 })
    expect(mq.spec.url).not.toContain('s3cret')

    const again = await k('apply', '-f', SPECS)
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout.split('\n').filter(Boolean)).toEqual(['function/ticker unchanged', 'crontrigger/every-minute unchanged', 'queuetrigger/orders unchanged'])
    expect((await k('diff', '-f', SPECS)).code).toBe(0)
  })

  it('the function is in use by both triggers; delete -f takes everything', async () => {
    const refused = await k('fn', 'delete', 'ticker')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('cron trigger "every-minute"')
    expect(refused.stderr).toContain('queue trigger "orders"')
    const d = await k('delete', '-f', SPECS)
    expect(d.code, d.stderr).toBe(0)
    expect((await p.call('/v1/crontriggers/every-minute')).status).toBe(404)
    expect((await p.call('/v1/mqtriggers/orders')).status).toBe(404)
    expect((await p.call('/v1/functions/ticker')).status).toBe(404)
  })
})
