// A TCP server that is not on this host's loopback, for proving a sandbox's egress on a machine without
// a network: it runs in a network namespace of its own, joined to the host by a veth pair on a private
// /30 (10.231.N.0), and answers `egress-ok` to every connection. Only this host can reach it (the address
// lives on the veth pair alone). Killing it removes the namespace, which removes both veth ends.
import { spawn, spawnSync } from 'node:child_process'

export interface EgressServer { host: string; port: number; stop(): Promise<void> }

const SERVER = `
const [host, port] = process.argv.slice(1)
const srv = require('net').createServer((c) => c.end('egress-ok'))
const go = () => srv.listen(Number(port), host, () => console.log('listening'))
srv.on('error', () => setTimeout(go, 20))
console.log('waiting')
go()
`

let seq = 0

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || `exit ${r.status}`}`)
}

/** Why the server cannot run here, or undefined when it can (root, iproute2, util-linux unshare/nsenter). */
export function egressServerUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (veth pairs and network namespaces)'
  for (const p of ['ip', 'unshare', 'nsenter']) if (spawnSync(p, ['--version'], { stdio: 'ignore' }).error) return `${p} not found`
  return undefined
}

export async function startEgressServer(): Promise<EgressServer> {
  const n = (process.pid * 7 + ++seq) % 250 + 1
  const host = `10.231.${n}.2`
  const port = 8077
  const hostIf = `kte${process.pid % 100000}${seq}a`.slice(0, 15)
  const nsIf = `kte${process.pid % 100000}${seq}b`.slice(0, 15)
  const child = spawn('unshare', ['--net', '--', process.execPath, '-e', SERVER, host, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.setEncoding('utf8')
  const line = (want: string) => new Promise<void>((resolve, reject) => {
    const check = () => { if (out.includes(want)) { child.stdout!.off('data', onData); resolve() } }
    const onData = (d: string) => { out += d; check() }
    child.stdout!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`egress server exited (${code}) before "${want}"`)))
    check()
  })
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))
    }
    spawnSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' })
  }
  try {
    await line('waiting')
    run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', String(child.pid)])
    run('ip', ['addr', 'add', `10.231.${n}.1/30`, 'dev', hostIf])
    run('ip', ['link', 'set', hostIf, 'up'])
    run('nsenter', ['-t', String(child.pid), '-n', 'ip', 'addr', 'add', `${host}/30`, 'dev', nsIf])
    run('nsenter', ['-t', String(child.pid), '-n', 'ip', 'link', 'set', nsIf, 'up'])
    await line('listening')
  } catch (e) {
    await stop()
    throw e
  }
  return { host, port, stop }
}
