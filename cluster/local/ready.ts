// How the platform learns that a local runtime is listening, without polling:
// Kiln runtimes write `{"port":N,"pid":P}\n` to an inherited pipe (KILN_READY_FD=3) once listening.
// Runtimes that cannot (Fission's environment servers) are given a port and polled with TCP connects.
import { connect } from 'node:net'
import type { Readable } from 'node:stream'

export function readReadyLine(pipe: Readable, timeoutMs: number): Promise<{ port: number; pid?: number }> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => done(new Error(`runtime did not report ready within ${timeoutMs} ms`)), timeoutMs)
    const onData = (chunk: Buffer) => {
      buf += chunk.toString('utf8')
      const nl = buf.indexOf('\n')
      if (nl < 0) return
      try {
        const msg = JSON.parse(buf.slice(0, nl)) as { port?: unknown; pid?: number }
        if (typeof msg.port !== 'number') throw new Error('no port')
        done(undefined, { port: msg.port, pid: msg.pid })
      } catch (e) {
        done(new Error(`runtime wrote a malformed ready line: ${JSON.stringify(buf.slice(0, nl))}`))
      }
    }
    const onEnd = () => done(new Error('runtime exited before it was ready'))
    function done(err?: Error, v?: { port: number; pid?: number }) {
      clearTimeout(timer)
      pipe.off('data', onData)
      pipe.off('end', onEnd)
      pipe.off('error', onEnd)
      pipe.destroy()
      if (err) reject(err)
      else resolve(v!)
    }
    pipe.on('data', onData)
    pipe.on('end', onEnd)
    pipe.on('error', onEnd)
  })
}

export async function waitForPort(host: string, port: number, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port }, () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (!alive()) throw new Error('runtime exited before it was ready')
    if (Date.now() > deadline) throw new Error(`runtime did not listen on ${host}:${port} within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    import('node:net').then(({ createServer }) => {
      const srv = createServer()
      srv.unref()
      srv.on('error', reject)
      srv.listen(0, host, () => {
        const port = (srv.address() as { port: number }).port
        srv.close(() => resolve(port))
      })
    }, reject)
  })
}
