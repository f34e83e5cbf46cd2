// A stand-in OTLP/HTTP collector for `bench:router --otlp`: accepts POST /v1/traces, counts requests
// and bytes, answers 200. It runs in the bench process, not beside the servers under test.
import { once } from 'node:events'
import { createServer } from 'node:http'

export interface OtlpSink { url: string; posts: number; bytes: number; stop(): Promise<void> }

export async function startOtlpSink(): Promise<OtlpSink> {
  const sink = { url: '', posts: 0, bytes: 0, stop: async () => {} }
  const server = createServer((req, res) => {
    if (req.url === '/v1/traces') sink.posts++
    req.on('data', (c: Buffer) => { sink.bytes += c.length })
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  sink.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  sink.stop = () => new Promise((r) => server.close(() => r()))
  return sink
}
