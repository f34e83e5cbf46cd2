// A tiny HTTP client for runtime tests: status, headers and the body's bytes, nothing parsed unasked.
import { request } from 'undici'

export interface Res {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  text(): string
  json(): any
}

export async function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer | AsyncIterable<Buffer> } = {},
): Promise<Res> {
  const r = await request(url, { method: (opts.method ?? 'GET') as 'GET', headers: opts.headers, body: opts.body as string | Buffer })
  const body = Buffer.from(await r.body.arrayBuffer())
  return {
    status: r.statusCode,
    headers: r.headers as Res['headers'],
    body,
    text: () => body.toString('utf8'),
    json: () => JSON.parse(body.toString('utf8')),
  }
}

export function postJson(url: string, value: unknown): Promise<Res> {
  return call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) })
}

/** Polls `check` until it is true (a wait for an event, not a timing assertion). */
export async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`never happened: ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
