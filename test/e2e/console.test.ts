// The operator console in a real Chromium (Debian's, driven by playwright-core) against a real
// platform: sign in with the form and with a `#token=` fragment (gone from the address bar after), a
// deployed function with its instances, a pool resized to a new target, a cpu hog isolated by the load
// monitor and its event with evidence (then released by hand), a dead invocation redriven, a workflow
// execution drawn as its DAG, a live log tail, screenshots kept under test-results/console/, and a
// viewer of team-b who sees nothing of team-a. Every data call carries the token in a header: no URL
// the browser asks for holds it, and the page runs under its CSP without a violation.
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BROWSER, launchChromium } from '../helpers/browser.js'
import { buildNodeRuntime } from '../helpers/build-runtime.js'
import { builtConsole } from '../helpers/console.js'
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js'
import { createNamespace, tokenFor } from '../helpers/tenancy.js'
import { until } from '../helpers/until.js'

const FIX = join(import.meta.dirname, '..', 'fixtures')
const HELLO = join(FIX, 'tenancy', 'hello-ns.mjs')
const HOG = join(FIX, 'isolation', 'hog.mjs')
const LOGS = join(import.meta.dirname, 'fixtures', 'logs.cjs')
const FLAKY = join(import.meta.dirname, 'fixtures', 'flaky.mjs')
const SHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'console')
const json = { 'content-type': 'application/json' }

describe('the operator console in Chromium', BROWSER, () => {
  let p: TestPlatform
  let browser: Browser
  const contexts: BrowserContext[] = []
  /** Every URL the browser asked for, and every console error (a CSP violation is one). */
  const urls: string[] = []
  const consoleErrors: string[] = []

  /** A fresh browser session (its own sessionStorage) on a page of the console. */
  async function open(path = '/ui/'): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } })
    contexts.push(ctx)
    const page = await ctx.newPage()
    page.on('request', (r) => { urls.push(r.url()) })
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()) })
    page.on('pageerror', (e) => { consoleErrors.push(String(e)) })
    await page.goto(`${p.apiUrl}${path}`)
    return page
  }

  async function signedIn(token: string, hash = ''): Promise<Page> {
    const page = await open(`/ui/#token=${encodeURIComponent(token)}`)
    await page.locator('.who').waitFor()
    if (hash) await page.evaluate(`location.hash = ${JSON.stringify(hash)}`)
    return page
  }

  beforeAll(async () => {
    await Promise.all([buildNodeRuntime(), builtConsole()])
    await mkdir(SHOTS, { recursive: true })
    // The noisy-function test's limits: a hog is marked within a few half-second samples and stays
    // isolated until released by hand (cooldownMs 0).
    p = await startTestPlatform({ poolSize: 1, loadLimits: { cpuShare: 0.9, cpuCores: 0.5, cpuMsPerRequest: 20, memoryShare: 0.9, throttleRatio: 0.5, window: 3, sampleMs: 500, cooldownMs: 0 } })
    await createNamespace(p, 'team-a')
    await createNamespace(p, 'team-b')
    await p.deploy('hello', HELLO, { env: { GREETING: 'a' } }, 'team-a')
    await p.deploy('hello-b', HELLO, { env: { GREETING: 'b' } }, 'team-b')
    await p.deploy('hog', HOG, { resources: { cpu: 0.05 }, timeoutMs: 30_000 })
    await p.deploy('logs', LOGS)
    browser = await launchChromium()
  }, 180_000)

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined)
    await browser?.close()
    await p?.stop()
  })

  it('signs in with the form; the page loads without a token but its data calls need one', async () => {
    const page = await open()
    await page.locator('form input#token').waitFor()
    // Without the token the API answers 401, from the page's own origin as from anywhere.
    expect(await page.evaluate(async () => (await fetch('/v1/functions')).status)).toBe(401)
    await page.fill('#token', 'kiln_not_a_token')
    await page.click('button[type=submit]')
    await page.locator('.error').waitFor()
    expect(await page.locator('.error').textContent()).toContain('KILN_ERR_UNAUTHENTICATED')
    await page.fill('#token', p.adminToken)
    await page.click('button[type=submit]')
    await page.locator('.who').waitFor()
    expect(await page.locator('.who').textContent()).toContain('admin')
    expect(page.url()).toBe(`${p.apiUrl}/ui/`)
  })

  it('takes a #token= fragment, keeps it for the tab and removes it from the address bar', async () => {
    const page = await signedIn(p.adminToken)
    expect(page.url()).toBe(`${p.apiUrl}/ui/`)
    expect(await page.evaluate('location.hash')).toBe('')
    expect(await page.evaluate('sessionStorage.getItem("kiln.token")')).toBe(p.adminToken)
    // A reload stays signed in (same tab); signing out forgets it.
    await page.reload()
    await page.locator('.who').waitFor()
    await page.click('text=Sign out')
    await page.locator('form input#token').waitFor()
    expect(await page.evaluate('sessionStorage.getItem("kiln.token")')).toBeNull()
  })

  it('shows a deployed function with its strategy, version and instances by state and node', async () => {
    for (let i = 0; i < 5; i++) expect((await p.call('/ns/team-a/fn/hello')).status).toBe(200)
    const page = await signedIn(p.adminToken)
    const row = page.locator('tr[data-function="team-a/hello"]')
    await row.waitFor()
    await until('the row to show a ready instance on general', async () => {
      const text = await row.textContent()
      return text?.includes('ready') && text.includes('general') ? text : undefined
    }, 30_000)
    expect(await row.locator('td').nth(1).textContent()).toBe('pool')
    expect(await row.locator('td').nth(2).textContent()).toBe('v1')
    // Opened: its instances one by one (node, state) and its versions.
    await row.locator('a').first().click()
    const inst = page.locator('table.instances tbody tr').first()
    await inst.waitFor()
    const api = (await p.call('/v1/functions/hello?namespace=team-a')).json().status.instances
    expect(await inst.getAttribute('data-instance')).toBe(api[0].id)
    expect(await inst.locator('td').nth(2).textContent()).toBe(api[0].node)
    await page.locator('table.versions tr[data-version="1"]').waitFor()
    // The sparklines fill in as the series does (one point per 5 s).
    await until('a request rate in the sparkline', async () => {
      const v = await row.locator('.spark').first().locator('.spark-value').textContent()
      return v && v !== '–' ? v : undefined
    }, 30_000)
    await page.screenshot({ path: join(SHOTS, 'functions.png'), fullPage: true })
  })

  it('resizes a pool live and shows its new target', async () => {
    const page = await signedIn(p.adminToken, '#/pools')
    const row = page.locator('tr[data-pool="node/default"]')
    await row.waitFor()
    expect(await row.locator('td.target').textContent()).toBe('1')
    await page.fill('form[data-runtime="node"] input[name=size]', '3')
    await page.click('form[data-runtime="node"] button')
    await until('the new target in the table', async () => (await row.locator('td.target').textContent()) === '3', 30_000)
    expect((await p.call('/v1/pools')).json().find((x: { runtime: string }) => x.runtime === 'node').target).toBe(3)
    await until('the pool to fill to its target', async () => (await row.locator('td.ready').textContent()) === '3', 60_000)
    await page.screenshot({ path: join(SHOTS, 'pools.png'), fullPage: true })
    expect((await p.call('/v1/pools/node', { method: 'PUT', body: JSON.stringify({ size: 1 }), headers: json })).status).toBe(200)
  })

  it('shows the isolation of a cpu hog with its evidence, and releases it by hand', { timeout: 300_000 }, async () => {
    let stop = false
    const drive = async () => { while (!stop) await p.call('/fn/hog?ms=2000') }
    const loops = [drive(), drive()]
    try {
      await until('the hog to be isolated by the monitor', async () => (await p.call('/v1/functions/hog')).json().status.isolation, 120_000)
    } finally {
      stop = true
      await Promise.all(loops)
    }
    const page = await signedIn(p.adminToken, '#/nodes')
    const ev = page.locator('li[data-event="FunctionIsolated"][data-function="hog"]')
    await ev.waitFor({ timeout: 30_000 })
    expect(await ev.locator('dl.evidence').textContent()).toContain('samplesOutOfRange')
    expect(await ev.locator('dl.evidence').textContent()).toContain('monitor')
    await page.locator('tr[data-node="isolated"]').waitFor()
    const row = page.locator('table.isolated tr[data-function="hog"]')
    await row.waitFor()
    await page.screenshot({ path: join(SHOTS, 'isolation.png'), fullPage: true })
    await row.locator('button.release').click()
    await page.locator('li[data-event="FunctionReleased"][data-function="hog"]').waitFor({ timeout: 30_000 })
    await row.waitFor({ state: 'detached' })
    expect((await p.call('/v1/functions/hog')).json().status.isolation).toBeUndefined()
  })

  it('redrives a dead invocation from the dead letters once the function is fixed', async () => {
    // A release with a bug: no retries, so its async call is dead at once; the fix deployed, a redrive succeeds.
    await p.deploy('flaky', FLAKY, { env: { BROKEN: '1' }, async: { retries: 0 } }, 'team-a')
    const acc = await p.call('/ns/team-a/async/fn/flaky', { method: 'POST', body: '' })
    expect(acc.status).toBe(202)
    const id = acc.json().id as string
    await until('the invocation to be dead', async () => (await p.call(`/v1/invocations/${id}`)).json().status === 'dead', 30_000)
    await p.deploy('flaky', FLAKY, { async: { retries: 0 } }, 'team-a')
    const page = await signedIn(p.adminToken, '#/invocations')
    const dead = page.locator(`table.dead tr[data-invocation="${id}"]`)
    await dead.waitFor()
    await page.screenshot({ path: join(SHOTS, 'invocations.png'), fullPage: true })
    const retried = page.waitForResponse((r) => r.url().endsWith(`/v1/invocations/${id}/retry`))
    await dead.locator('button.redrive').click()
    expect((await retried).status()).toBe(200)
    await page.locator(`table.recent tr[data-invocation="${id}"][data-status="succeeded"]`).waitFor({ timeout: 30_000 })
    await dead.waitFor({ state: 'detached' })
    expect((await p.call(`/v1/invocations/${id}`)).json()).toMatchObject({ status: 'succeeded', attempts: 1 })
  })

  it('draws a workflow execution as its DAG with each step\'s status', async () => {
    const wf = { name: 'greet', tasks: { first: { function: 'hello' }, second: { function: 'hello', requires: ['first'] }, third: { function: 'hello', requires: ['first'] } } }
    expect((await p.call('/v1/workflows/greet?namespace=team-a', { method: 'PUT', body: JSON.stringify(wf), headers: json })).status).toBe(201)
    const run = await p.call('/v1/workflows/greet/executions?namespace=team-a', { method: 'POST', body: '{}', headers: json })
    expect(run.status).toBe(200)
    const id = run.json().id as string
    const page = await signedIn(p.adminToken, `#/executions/${id}`)
    for (const task of ['first', 'second', 'third']) await page.locator(`svg.dag g[data-task="${task}"][data-status="succeeded"]`).waitFor()
    expect(await page.locator('svg.dag path.dag-edge').count()).toBe(2)
    await page.screenshot({ path: join(SHOTS, 'execution.png'), fullPage: true })
  })

  it('tails a function\'s log live', async () => {
    const page = await signedIn(p.adminToken, '#/logs/default/logs')
    const log = page.locator('pre.log[data-function="logs"]')
    await log.waitFor()
    expect((await p.call('/fn/logs?tag=from-the-test')).status).toBe(200)
    await until('the new line in the tail', async () => (await log.textContent())?.includes('hello to stdout from-the-test'), 30_000)
  })

  it('keeps screenshots as test artifacts', async () => {
    for (const name of ['functions', 'pools', 'isolation', 'invocations', 'execution']) {
      const png = await readFile(join(SHOTS, `${name}.png`))
      expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true)
    }
  })

  it('a viewer of team-b sees nothing of team-a on any page', async () => {
    const viewer = await tokenFor(p, 'viewer', ['team-b'])
    const page = await signedIn(viewer)
    await page.locator('tr[data-function="team-b/hello-b"]').waitFor()
    expect(await page.locator('.top nav').textContent()).not.toContain('Pools')
    for (const [hash, ready] of [['#/functions', 'table.functions'], ['#/nodes', 'section'], ['#/invocations', 'section'], ['#/executions', 'section']] as const) {
      await page.evaluate(`location.hash = ${JSON.stringify(hash)}`)
      await page.locator(ready).first().waitFor()
      // Past the first state of every topic the page shows.
      await until(`${hash} to load`, async () => !(await page.content()).includes('Loading…'), 30_000)
      const html = await page.content()
      expect(html, hash).not.toContain('team-a')
      expect(html, hash).not.toContain('"hog"')
    }
    const ns = await page.locator('.top select').locator('option').allTextContents()
    expect(ns).toEqual(['all of mine', 'team-b'])
  })

  it('never put a token in a URL, and ran without a CSP violation or page error', () => {
    expect(urls.length).toBeGreaterThan(20)
    const tokens = [p.adminToken]
    // The #token= fragment is the page's own address, never sent; every request the browser made is clean.
    for (const u of urls) for (const t of tokens) expect(new URL(u).search + new URL(u).pathname).not.toContain(t)
    expect(urls.filter((u) => !u.startsWith(p.apiUrl))).toEqual([])
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([])
    // 401s of the wrong token above are the only failed loads.
    expect(consoleErrors.filter((e) => !/401|Unauthorized/i.test(e))).toEqual([])
  })
})
