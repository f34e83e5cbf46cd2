// Queue triggers end to end, one suite run against both kinds: a real redis-server and a real
// nats-server with JetStream, and a real platform (in-process) whose function records what reached it.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { QUEUE_KINDS, streamIdCompare, type Msg, type TestBroker } from '../../helpers/queue-brokers.js'
import { until } from '../../helpers/until.js'

const ECHO = join(import.meta.dirname, '../../fixtures/queue/echo.mjs')

describe.each(QUEUE_KINDS)('queue triggers on $kind', ({ kind, start, client, topic }) => {
  let server: { url: string; stop(): Promise<void> }
  let p: TestPlatform
  let b: TestBroker

  beforeAll(async () => {
    server = await start()
    p = await startTestPlatform({ queueLeaseMs: 3000 })
    b = await client(server.url)
    // One instance at most: what the function counts in its module is everything it served.
    await p.deploy('echo', ECHO, { maxScale: 1 })
  })

  afterAll(async () => {
    await b?.close()
    await p?.stop()
    await server?.stop()
  })

  async function add(name: string, spec: Record<string, unknown>) {
    const res = await p.call('/v1/mqtriggers', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name }, spec: { kind, url: server.url, function: 'echo', ...spec } }),
    })
    expect(res.status, res.text).toBe(201)
    return res.json()
  }

  // A timeout names what each trigger's consumer was doing.
  const consumers = () => JSON.stringify(Object.fromEntries(p.ctx.queueTriggers.list().map((t) => [t.metadata.name, p.ctx.queues.status(t.metadata.name)])))
  const arrived = (t: string, n: number) => until(`${n} messages on ${t}`, async () => {
    const got = await b.read(t)
    return got.length >= n ? got : undefined
  }, 60_000).catch((e: Error) => { throw new Error(`${e.message}; consumers: ${consumers()}`) })

  const answers = (msgs: Msg[]) => msgs.map((m) => ({ ...m, json: JSON.parse(m.body) }))

  it('calls the function with each message (body, headers, content type) and publishes its answers to the response topic', async () => {
    const [inT, outT] = [topic('basic-in'), topic('basic-out')]
    await add('basic', { topic: inT, responseTopic: outT })
    const a = await b.publish(inT, JSON.stringify({ order: 1 }), { 'x-m-note': 'first' })
    const c = await b.publish(inT, 'plain words', { 'content-type': 'text/plain' })
    const got = answers(await arrived(outT, 2))
    const byId = new Map(got.map((m) => [m.headers['x-kiln-message-id'], m]))

    const first = byId.get(a)!
    expect(first.json.body).toEqual({ order: 1 })
    expect(first.json.contentType).toBe('application/json')
    expect(first.json.headers).toMatchObject({
      'x-m-note': 'first', 'x-kiln-trigger': 'basic', 'x-kiln-topic': inT, 'x-kiln-message-id': a, 'x-kiln-delivery': '1',
      'x-fission-mqtrigger-topic': inT, 'x-fission-mqtrigger-resptopic': outT,
    })
    expect(first.headers).toMatchObject({ 'x-kiln-status': '200', 'x-kiln-trigger': 'basic', 'content-type': 'application/json', 'x-echo': 'yes' })

    // A message's own content type wins over the trigger's (application/json by default).
    const second = byId.get(c)!
    expect(second.json.contentType).toBe('text/plain')
    expect(second.json.body).toBe('plain words')

    await until('both acknowledged', async () => (await b.acknowledged('basic', inT, [a, c])).length === 2, 30_000)
  })

  it('retries a failing message and sends it to the error topic after max-retries + 1 attempts, with the reason', async () => {
    const [inT, outT, errT] = [topic('fail-in'), topic('fail-out'), topic('fail-err')]
    await add('failing', { topic: inT, responseTopic: outT, errorTopic: errT, maxRetries: 2 })
    const doomed = await b.publish(inT, 'doomed', { 'x-fail': 'always', 'content-type': 'text/plain' })
    const flaky = await b.publish(inT, 'flaky', { 'x-fail-until': '2', 'content-type': 'text/plain' })

    const [dead] = await arrived(errT, 1)
    expect(dead!.body).toBe('doomed')
    expect(dead!.headers).toMatchObject({
      'x-fail': 'always', 'x-kiln-message-id': doomed, 'x-kiln-function': 'echo', 'x-kiln-trigger': 'failing',
      'x-kiln-attempts': '3', 'x-kiln-status': '500',
    })
    // The function's own answer to its third call is the reason.
    expect(dead!.headers['x-kiln-error']).toContain(`failed call 3 of failing/${doomed}`)

    // Failing twice and then answering is a success on the third delivery.
    const [ok] = answers(await arrived(outT, 1))
    expect(ok!.headers['x-kiln-message-id']).toBe(flaky)
    expect(ok!.json).toMatchObject({ body: 'flaky', calls: 3, headers: { 'x-kiln-delivery': '3' } })

    await until('both acknowledged', async () => (await b.acknowledged('failing', inT, [doomed, flaky])).length === 2, 30_000)
    expect((await b.read(errT)).length).toBe(1)
  })

  it('keeps at most --concurrency messages in flight, counted inside the function', async () => {
    const [inT, outT] = [topic('cap-in'), topic('cap-out')]
    await add('capped', { topic: inT, responseTopic: outT, concurrency: 3 })
    for (let i = 0; i < 12; i++) await b.publish(inT, JSON.stringify({ i }), { 'x-delay-ms': '300' })
    const got = answers(await arrived(outT, 12))
    expect(new Set(got.map((m) => m.json.pid)).size).toBe(1)
    expect(Math.max(...got.map((m) => m.json.max))).toBe(3)
    expect(got.map((m) => m.json.body.i).sort((x, y) => x - y)).toEqual([...Array(12).keys()])
  })

  it('a call that outlasts the lease keeps its message: it is not delivered again meanwhile', async () => {
    const [inT, outT] = [topic('long-in'), topic('long-out')]
    // A free slot keeps the trigger pulling (and sweeping for expired leases) while the call runs.
    await add('long', { topic: inT, responseTopic: outT, concurrency: 2 })
    const id = await b.publish(inT, '"slow"', { 'x-delay-ms': '7000' })
    let most = 0
    const [ans] = answers(await until('the answer', async () => {
      most = Math.max(most, await b.redeliveries('long', inT))
      const got = await b.read(outT)
      return got.length > 0 ? got : undefined
    }, 45_000, 200).catch(async (e: Error) => { throw new Error(`${e.message}; consumers: ${consumers()}; broker: ${await b.describe('long', inT)}`) }))
    expect(ans!.headers['x-kiln-message-id']).toBe(id)
    expect(ans!.json).toMatchObject({ calls: 1, headers: { 'x-kiln-delivery': '1' } })
    expect(most).toBe(0)
    expect(await b.redeliveries('long', inT)).toBe(0)
  })

  it('messages a process held when it died come back to a live one once their lease runs out', async () => {
    const [inT, outT] = [topic('held-in'), topic('held-out')]
    const ids = [await b.publish(inT, '"a"'), await b.publish(inT, '"b"')]
    expect(await b.abandon('heir', inT, 2, 3000)).toEqual(ids)
    await add('heir', { topic: inT, responseTopic: outT })
    const got = answers(await arrived(outT, 2))
    expect(got.map((m) => m.headers['x-kiln-message-id']).sort()).toEqual([...ids].sort())
    // Counted by the broker: the dead process had the first delivery.
    expect(got.map((m) => m.json.headers['x-kiln-delivery'])).toEqual(['2', '2'])
    await until('both acknowledged', async () => (await b.acknowledged('heir', inT, ids)).length === 2, 30_000)
  })

  it('stops consuming when the trigger is deleted; what arrives meanwhile waits for it with the broker', async () => {
    const [inT, keepT, goneT] = [topic('del-in'), topic('del-keep'), topic('del-gone')]
    await add('keeper', { topic: inT, responseTopic: keepT })
    await add('goner', { topic: inT, responseTopic: goneT })
    const m1 = await b.publish(inT, '"one"')
    await arrived(keepT, 1)
    await arrived(goneT, 1)

    const del = await p.call('/v1/mqtriggers/goner', { method: 'DELETE' })
    expect(del.status).toBe(200)
    expect(p.ctx.queues?.status('goner')).toBeUndefined()
    const m2 = await b.publish(inT, '"two"')
    // The other trigger on the same topic has had m2: a live consumer had its chance at it.
    const kept = await arrived(keepT, 2)
    expect(kept.map((m) => m.headers['x-kiln-message-id'])).toEqual([m1, m2])
    expect((await b.read(goneT)).map((m) => m.headers['x-kiln-message-id'])).toEqual([m1])
    const pos = await b.delivered('goner', inT)
    if (kind === 'nats') expect(Number(pos)).toBeLessThan(Number(m2))
    else expect(streamIdCompare(pos, m2)).toBeLessThan(0)

    // Re-added under the same name, it resumes where it stopped: m2 was not lost.
    await add('goner', { topic: inT, responseTopic: goneT })
    const after = await arrived(goneT, 2)
    expect(after.map((m) => m.headers['x-kiln-message-id'])).toEqual([m1, m2])
  })
})
