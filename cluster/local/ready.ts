// How the platform learns that a local runtime is listening, without polling:
// Kiln runtimes write `{"port":N,"pid":P}\n` (or `{"socket":PATH,"pid":P}\n` on a Unix socket) to an
// inherited pipe (KILN_READY_FD=3) once listening. Runtimes that cannot (Fission's environment servers)
// are given a port and polled with TCP connects, or reached through the TCP relay, which reports for them.
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
        const msg = JSON.parse(buf.slice(0, nl)) as { port?: unknown; socket?: unknown; pid?: number }
        if (typeof msg.port !== 'number' && typeof msg.socket !== 'string') throw new Error('no port or socket')
        done(undefined, { port: typeof msg.port === 'number' ? msg.port : 0, pid: msg.pid })
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

/** The first bytes on a pipe (slirp4netns writes "1" to its --ready-fd once the interface is up). */
export function firstData(pipe: Readable, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what} did not report ready within ${timeoutMs} ms`)), timeoutMs)
    const onData = () => done()
    const onEnd = () => done(new Error(`${what} exited before it was ready`))
    function done(err?: Error) {
      clearTimeout(timer)
      pipe.off('data', onData)
      pipe.off('end', onEnd)
      pipe.off('error', onEnd)
      pipe.destroy()
      if (err) reject(err)
      else resolve()
    }
    pipe.on('data', onData)
    pipe.on('end', onEnd)
    pipe.on('error', onEnd)
  })
}

/** bubblewrap's --info-fd document: the host pid of the sandbox's init (`child-pid`). */
export function readChildPid(pipe: Readable, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => done(new Error(`bubblewrap did not report its sandbox within ${timeoutMs} ms`)), timeoutMs)
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString()
      const end = buf.indexOf('}')
      if (end < 0) return
      try {
        const pid = (JSON.parse(buf.slice(0, end + 1)) as { 'child-pid'?: unknown })['child-pid']
        if (typeof pid !== 'number') throw new Error('no child-pid')
        done(undefined, pid)
      } catch {
        done(new Error(`bubblewrap wrote a malformed info document: ${JSON.stringify(buf.slice(0, 200))}`))
      }
    }
    const onEnd = () => done(new Error('bubblewrap exited before it reported its sandbox'))
    function done(err?: Error, pid?: number) {
      clearTimeout(timer)
      pipe.off('data', onData)
      pipe.off('end', onEnd)
      pipe.off('error', onEnd)
      // The sandbox inherits the write end: nothing it writes there is read any more.
      pipe.destroy()
      if (err) reject(err)
      else resolve(pid!)
    }
    pipe.on('data', onData)
    pipe.on('end', onEnd)
    pipe.on('error', onEnd)
  })
}
