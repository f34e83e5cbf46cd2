// Egress for an instance's own network namespace: slirp4netns joins it (by the sandbox init's pid),
// brings up tap0 with a default route, and relays the instance's outbound connections through sockets
// of the host, as an ordinary program of the host would make them. --disable-host-loopback refuses
// connections to the host's 127.0.0.1 (the platform, its API, anything bound to loopback), and
// --enable-sandbox/--enable-seccomp confine slirp4netns itself once the interface is up.
//
// Why not pasta: Debian's passt (2023-03) drops to `nobody` before it opens the target namespace, so it
// cannot join one that root's bubblewrap created; slirp4netns joins as root, then drops its capabilities.
import type { LogSink } from '../../backend.js'
import type { ProcessHandle } from '../launcher.js'
import { firstData } from '../ready.js'
import { launch, type Wrapper } from '../spawn.js'

const READY_TIMEOUT_MS = 10_000

export async function attachEgress(o: { slirp4netns: string; initPid: number; instance: string; userns: boolean; wrap(argv: string[]): Wrapper; log: LogSink }): Promise<ProcessHandle> {
  const argv = [o.slirp4netns, '--configure', '--mtu=65520', '--disable-host-loopback', '--enable-sandbox', '--enable-seccomp', '--ready-fd=3', '--exit-fd=0']
  // Not root: the namespace belongs to the sandbox's user namespace, which slirp4netns joins first.
  if (o.userns) argv.push(`--userns-path=/proc/${o.initPid}/ns/user`)
  argv.push(String(o.initPid), 'tap0')
  const { command, args } = o.wrap(argv)
  const h = launch({ command, args, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, readyPipe: true })
  // Its own messages are the platform's, not the function's: only failures are worth a line.
  h.stdout.resume()
  let err = ''
  h.stderr.on('data', (d: Buffer | string) => { if (err.length < 2000) err += d.toString() })
  try {
    await Promise.race([firstData(h.ready!, READY_TIMEOUT_MS, 'slirp4netns'), h.exited.then(({ code }) => { throw new Error(`slirp4netns exited with code ${code}`) })])
  } catch (e) {
    h.kill('SIGKILL')
    o.log(o.instance, 'stderr', `kiln: no egress for this instance: ${(e as Error).message}${err ? `: ${err.trim()}` : ''}`)
    throw new Error(`egress (slirp4netns) failed: ${(e as Error).message}${err ? `: ${err.trim().split('\n')[0]}` : ''}`)
  }
  return h
}
