// How the platform learns that a local runtime is listening, without polling:
// Kiln runtimes write `{"port":N,"pid":P}\n` (or `{"socket":PATH,"pid":P}\n` on a Unix socket) to an
// inherited pipe (KILN_READY_FD=3) once listening. Runtimes that cannot (Fission's environment servers)
// are given a port and polled with TCP connects, or reached through the TCP relay, which reports for them.
import { connect } from 'node:net'
import type { Readable } from 'node:stream'

/**
 * Reads a pipe until `parse` makes something of what came so far (undefined: wait for more; it throws
 * for malformed input), then stops listening and destroys the pipe: nothing after it is read.
 */
function readPipe<T>(pipe: Readable, timeoutMs: number, who: string, parse: (buf: string) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => done(new Error(`${who} did not report ready within ${timeoutMs} ms`)), timeoutMs)
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString()
      let v: T | undefined
      try {
        v = parse(buf)
      } catch (e) {
        done(e as Error)
        return
      }
      if (v !== undefined) done(undefined, v)
    }
    const onEnd = () => done(new Error(`${who} exited before it was ready`))
    function done(err?: Error, v?: T) {
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

export function readReadyLine(pipe: Readable, timeoutMs: number): Promise<{ port: number; pid?: number }> {
  return readPipe(pipe, timeoutMs, 'runtime', (buf) => {
    const nl = buf.indexOf('\n')
    if (nl < 0) return undefined
    let msg: { port?: unknown; socket?: unknown; pid?: number }
    try {
      msg = JSON.parse(buf.slice(0, nl)) as typeof msg
    } catch {
      msg = {}
    }
    if (typeof msg.port !== 'number' && typeof msg.socket !== 'string') throw new Error(`runtime wrote a malformed ready line: ${JSON.stringify(buf.slice(0, nl))}`)
    return { port: typeof msg.port === 'number' ? msg.port : 0, pid: msg.pid }
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

/** The first bytes on a pipe (slirp4netns writes "1" to its --ready-fd once the interface is up). */
export function firstData(pipe: Readable, timeoutMs: number, what: string): Promise<void> {
  return readPipe(pipe, timeoutMs, what, (buf) => (buf.length > 0 ? true : undefined)).then(() => undefined)
}

/** bubblewrap's --info-fd document: the host pid of the sandbox's init (`child-pid`). */
export function readChildPid(pipe: Readable, timeoutMs: number): Promise<number> {
  // The sandbox inherits the write end: nothing it writes there after the document is read.
  return readPipe(pipe, timeoutMs, 'bubblewrap', (buf) => {
    const end = buf.indexOf('}')
    if (end < 0) return undefined
    let pid: unknown
    try {
      pid = (JSON.parse(buf.slice(0, end + 1)) as { 'child-pid'?: unknown })['child-pid']
    } catch { /* below */ }
    if (typeof pid !== 'number') throw new Error(`bubblewrap wrote a malformed info document: ${JSON.stringify(buf.slice(0, 200))}`)
    return pid
  })
}
