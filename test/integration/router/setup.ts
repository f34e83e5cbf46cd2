// Shared set-up of the router suite: a real in-process platform (real runtime processes) on a free
// port, the router fixtures, and a raw node:http client that shows exactly what went over the wire.
import { readFileSync, writeFileSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { KilnConfig } from '../../../core/config.js'
import { buildNodeRuntime } from '../../helpers/build-runtime.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'router')
export const fixture = (name: string) => join(FIXTURES, name)

export async function routerPlatform(overrides: Partial<KilnConfig> = {}): Promise<TestPlatform> {
  await buildNodeRuntime()
  return startTestPlatform({ poolSize: 1, cgroups: 'none', ...overrides })
}

export interface RawResponse {
  status: number
  headers: IncomingMessage['headers']
  rawHeaders: string[]
  body: Buffer
  continued: boolean
}

/** One request over a fresh connection with node:http, so hop-by-hop and repeated headers go out as given. */
export function raw(url: string, init: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer | string; expectContinue?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let continued = false
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks), continued }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (init.expectContinue) {
      req.on('continue', () => {
        continued = true
        req.end(init.body)
      })
      req.flushHeaders()
    } else {
      try {
        req.end(init.body)
      } catch (err) {
        req.destroy()
        reject(err)
      }
    }
  })
}

/** Values of a header name in a raw header list (case-insensitive), in order. */
export function rawValues(rawHeaders: string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === name) out.push(rawHeaders[i + 1])
  return out
}

/**
 * This process's RSS (the platform runs in it): the baseline and the peak. The kernel keeps the peak
 * (VmHWM, reset through /proc/self/clear_refs), so no spike can fall between two samples; where that
 * reset is not allowed, the peak is sampled every `everyMs`.
 */
export function rssSampler(everyMs = 25): { stop(): { before: number; max: number; after: number } } {
  const exact = resetPeakRss()
  const before = process.memoryUsage.rss()
  let max = before
  const t = exact ? undefined : setInterval(() => { max = Math.max(max, process.memoryUsage.rss()) }, everyMs)
  return {
    stop() {
      if (t) clearInterval(t)
      const after = process.memoryUsage.rss()
      return { before, max: Math.max(max, after, exact ? peakRss() : 0), after }
    },
  }
}

function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return peakRss() > 0
  } catch {
    return false
  }
}

function peakRss(): number {
  const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
  return kb === undefined ? 0 : Number(kb) * 1024
}

/** Live instances of one function as the fleet sees them (any state but gone). */
export function instancesOf(p: TestPlatform, fn: string): number {
  let n = 0
  for (const r of p.ctx.fleet.records.values()) if (r.fn === fn && r.state !== 'gone') n++
  return n
}

export function describeFn(p: TestPlatform, fn: string): { queued: number; instances: { inflight: number }[] } {
  return p.ctx.executor.describe(fn) as unknown as { queued: number; instances: { inflight: number }[] }
}

/** Polls an async probe until it returns true (waits for an event; at most `ms`, never asserts time). */
export async function until(probe: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
