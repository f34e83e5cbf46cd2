// The one part of a kubelet's HTTPS API the simulator serves: `GET /containerLogs/{ns}/{pod}/{container}`,
// which the API server calls for `pods/log` (`kubectl logs`, client-node's Log). The containers' output
// is in CRI log files (`<RFC3339Nano time> <stream> F <text>`, pod-runner.ts); the query options are a
// kubelet's: follow, timestamps, tailLines, sinceTime, sinceSeconds, limitBytes. With follow the answer
// stays open, sending new lines, until the container's process exits or the client goes away.
// Nodes report this server as their kubelet endpoint (nodes.ts); the API server connects to the node's
// InternalIP (run it with --kubelet-preferred-address-types=InternalIP) and, without
// --kubelet-certificate-authority, does not verify the certificate, which is a throwaway self-signed one.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface LogSource {
  /** The container's log file and whether its process still runs; undefined for an unknown container. */
  container(namespace: string, pod: string, container: string): { file: string, running(): boolean } | undefined
}

interface Line { time: string, text: string }

/** CRI lines of a log file chunk; a last line without its newline stays in `rest`. */
function parse(chunk: string, rest: { s: string }): Line[] {
  const parts = (rest.s + chunk).split('\n')
  rest.s = parts.pop()!
  const out: Line[] = []
  for (const p of parts) {
    const m = /^(\S+) (?:stdout|stderr) [FP] (.*)$/.exec(p)
    if (m) out.push({ time: m[1]!, text: m[2]! })
  }
  return out
}

export async function startKubeletServer(source: LogSource, host = '127.0.0.1'): Promise<{ port: number, close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sim-kubelet-'))
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=kiln-node-sim',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
  const server: Server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://kubelet')
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname)
    const c = m ? source.container(m[1]!, m[2]!, m[3]!) : undefined
    if (!m || !c || !existsSync(c.file)) { res.writeHead(404, { 'content-type': 'text/plain' }).end('container not found\n'); return }
    const q = url.searchParams
    const follow = q.get('follow') === 'true'
    const timestamps = q.get('timestamps') === 'true'
    const tail = q.has('tailLines') ? Number(q.get('tailLines')) : undefined
    const since = q.get('sinceTime') ? Date.parse(q.get('sinceTime')!) : q.get('sinceSeconds') ? Date.now() - 1000 * Number(q.get('sinceSeconds')) : undefined
    let budget = q.has('limitBytes') ? Number(q.get('limitBytes')) : Infinity
    const emit = (lines: Line[]): boolean => {
      for (const l of lines) {
        if (since !== undefined && Date.parse(l.time) < since) continue
        const out = `${timestamps ? `${l.time} ` : ''}${l.text}\n`
        if (out.length > budget) { res.end(out.slice(0, budget)); return false }
        budget -= out.length
        res.write(out)
      }
      return true
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
    const rest = { s: '' }
    let offset = statSync(c.file).size
    let first = parse(readFileSync(c.file, 'utf8').slice(0, offset), rest)
    if (tail !== undefined) first = first.slice(Math.max(0, first.length - tail))
    if (!emit(first) ) return
    if (!follow || !c.running()) { res.end(); return }
    // Follow: read what is appended, every 100 ms, until the container stops or the client leaves.
    const timer = setInterval(() => {
      const size = statSync(c.file).size
      if (size > offset) {
        const buf = Buffer.alloc(size - offset)
        const fd = openSync(c.file, 'r')
        try { readSync(fd, buf, 0, buf.length, offset) } finally { closeSync(fd) }
        offset = size
        if (!emit(parse(buf.toString('utf8'), rest))) { clearInterval(timer); return }
      }
      if (!c.running()) { clearInterval(timer); res.end() }
    }, 100)
    req.on('close', () => clearInterval(timer))
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections() })
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
