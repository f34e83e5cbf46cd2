// Queue triggers through the real `kiln` CLI and a real `kiln up`, against a real redis-server and a
// real nats-server: `kiln mq add|list|get|delete` with their errors and exit codes, and `kiln up`
// SIGKILLed in the middle of a stream — afterwards every message is answered, and nothing was
// acknowledged that had not been answered (the answers go out before the acknowledgement).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kiln, kilnUp, type UpProcess } from '../helpers/cli.js'
import { QUEUE_KINDS, type TestBroker } from '../helpers/queue-brokers.js'
import { until } from '../helpers/until.js'

const ECHO = join(import.meta.dirname, '../fixtures/queue/echo.mjs')

describe.each(QUEUE_KINDS)('kiln mq with $kind', ({ kind, start, client, topic }) => {
  let server: { url: string; port: number; stop(): Promise<void> }
  let b: TestBroker
  let dataDir: string
  let up: UpProcess
  const env: Record<string, string> = {}

  beforeAll(async () => {
    server = await start()
    b = await client(server.url)
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-e2e-mq-'))
    // A short lease: a killed platform's NATS messages come back after it (Redis ones at once).
    await writeFile(join(dataDir, 'kiln.yaml'), 'queueLease: 2s\n')
    up = await kilnUp(dataDir)
    env.KILN_URL = up.url
    const d = await kiln(['fn', 'deploy', 'echo', '--code', ECHO, '--max-scale', '1', '-q'], env)
    expect(d.code, d.stderr).toBe(0)
  })

  afterAll(async () => {
    await up?.stop()
    await b?.close()
    await server?.stop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('adds, lists, shows and deletes triggers; bad input exits 1 naming the field, no server exits 2', async () => {
    const add = await kiln(['mq', 'add', 'orders', '--kind', kind, '--url', server.url, '--topic', topic('orders'), '--function', 'echo',
      '--response-topic', topic('orders-out'), '--error-topic', topic('orders-dead'), '--max-retries', '2', '--concurrency', '4'], env)
    expect(add.code, add.stderr).toBe(0)

    const list = await kiln(['mq', 'list'], env)
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(new RegExp(`orders\\s+${kind}\\s+${topic('orders').replace('.', '\\.')}\\s+echo`))
    const got = JSON.parse((await kiln(['mq', 'get', 'orders', '-o', 'json'], env)).stdout)
    expect(got.spec).toEqual({ kind, url: server.url, topic: topic('orders'), function: 'echo', responseTopic: topic('orders-out'), errorTopic: topic('orders-dead'), maxRetries: 2, concurrency: 4 })
    await until('the trigger consuming', async () => JSON.parse((await kiln(['mq', 'get', 'orders', '-o', 'json'], env)).stdout).status?.connected === true)
    expect((await kiln(['mq', 'get', 'orders'], env)).stdout).toMatch(/state\s+consuming/)

    // A password in the URL is kept, never shown.
    const scheme = kind === 'nats' ? 'nats' : 'redis'
    expect((await kiln(['mq', 'add', 'secret', '--kind', kind, '--url', `${scheme}://kiln:hunter2@127.0.0.1:${server.port}`, '--topic', topic('s'), '--function', 'echo'], env)).code).toBe(0)
    const shown = await kiln(['mq', 'get', 'secret', '-o', 'json'], env)
    expect(JSON.parse(shown.stdout).spec.url).toBe(`${scheme}://kiln:***@127.0.0.1:${server.port}`)
    expect(shown.stdout + (await kiln(['mq', 'list', '-o', 'json'], env)).stdout).not.toContain('hunter2')
    expect((await kiln(['mq', 'delete', 'secret'], env)).code).toBe(0)

    const base = ['--url', server.url, '--topic', topic('x'), '--function', 'echo']
    const bad: [string[], RegExp][] = [
      [['mq', 'add', 'k1', '--kind', 'kafka', ...base], /spec\.kind/],
      [['mq', 'add', 'k2', '--kind', kind, '--url', 'http://127.0.0.1:1', '--topic', topic('x'), '--function', 'echo'], /spec\.url/],
      [['mq', 'add', 'k3', '--kind', kind, ...base.slice(0, 4), '--function', 'nope'], /spec\.function: no function "nope"/],
      [['mq', 'add', 'k4', '--kind', kind, ...base, '--response-topic', topic('x')], /spec\.responseTopic/],
      [['mq', 'add', 'k5', '--kind', kind, ...base, '--max-retries', 'lots'], /--max-retries/],
      [['mq', 'add', 'k6', '--kind', kind, ...base, '--concurrency', '0'], /spec\.concurrency/],
      [['mq', 'add', 'orders', '--kind', kind, ...base], /already exists/],
      [['mq', 'get', 'nope'], /not found/],
      [['mq', 'delete', 'nope'], /not found/],
      [['mq', 'add', 'k7', '--kind', kind, '--url', server.url, '--function', 'echo'], /--topic/],
    ]
    for (const [args, stderr] of bad) {
      const r = await kiln(args, env)
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr, args.join(' ')).toMatch(stderr)
    }
    expect((await kiln(['mq', 'list'], { KILN_URL: 'http://127.0.0.1:9' })).code).toBe(2)

    expect((await kiln(['mq', 'delete', 'orders'], env)).code).toBe(0)
    expect((await kiln(['mq', 'list', '-o', 'json'], env)).stdout.trim()).toBe('[]')
  })

  it('kiln up SIGKILLed mid-stream: after a restart every message is answered, and none was acknowledged unanswered', async () => {
    const [inT, outT] = [topic('crash-in'), topic('crash-out')]
    // No retries: a message the crash interrupted is delivered again without counting against it.
    const add = await kiln(['mq', 'add', 'crash', '--kind', kind, '--url', server.url, '--topic', inT, '--function', 'echo', '--response-topic', outT, '--concurrency', '4'], env)
    expect(add.code, add.stderr).toBe(0)
    const ids: string[] = []
    for (let i = 0; i < 24; i++) ids.push(await b.publish(inT, JSON.stringify({ i }), { 'x-delay-ms': '400' }))
    const answeredIds = async () => new Set((await b.read(outT)).map((m) => m.headers['x-kiln-message-id']!))

    await until('some answers', async () => (await answeredIds()).size >= 4, 30_000)
    await up.stop('SIGKILL')
    const answered = await answeredIds()
    const acked = await b.acknowledged('crash', inT, ids)
    expect(acked.filter((id) => !answered.has(id))).toEqual([])
    expect(acked.length).toBeLessThan(ids.length)

    up = await kilnUp(dataDir)
    env.KILN_URL = up.url
    await until('every message answered', async () => { const a = await answeredIds(); return ids.every((id) => a.has(id)) }, 60_000)
    await until('every message acknowledged', async () => (await b.acknowledged('crash', inT, ids)).length === ids.length, 30_000)
    const st = JSON.parse((await kiln(['mq', 'get', 'crash', '-o', 'json'], env)).stdout).status
    expect(st).toMatchObject({ deadLettered: 0, failedAttempts: 0 })
  })
})
