// The spawner process (dist/spawner.js): starts runtime processes on behalf of `kiln up`.
// Why a separate process: fork() copies the parent's page tables, so every spawn from the platform
// stalled its event loop — every request in flight — for 3–5 ms (measured at ~90 MB RSS). This process
// stays small, and the stall is paid here. It forwards each child's output, ready line and exit over
// IPC; when the platform goes away (IPC disconnect) it kills every child it started with every process
// under it, and the children's stdin (a pipe from here) closes, so nothing outlives the platform.
import { spawn, type ChildProcess } from 'node:child_process'
import { setPriority } from 'node:os'
import type { Readable } from 'node:stream'
import { processTree } from './proc-tree.js'
import type { SpawnerReply, SpawnerRequest } from './spawner-protocol.js'

const children = new Map<string, ChildProcess>()

function send(m: SpawnerReply): void {
  // The platform may be gone between the check and the write (EPIPE): with a callback the error comes
  // here instead of as an unhandled 'error' event whose stack would land on the platform's stderr.
  if (process.connected) process.send!(m, undefined, undefined, () => undefined)
}

// The ready pipe carries one line and the info pipe one JSON document; after that the child (which may
// keep the descriptor: bubblewrap's sandbox inherits fd 4) is not listened to any more.
const LAST: Partial<Record<number, string>> = { 3: '\n', 4: '}' }

function forward(id: string, stream: Readable | null | undefined, fd: 1 | 2 | 3 | 4): void {
  if (!stream) return
  stream.setEncoding('utf8')
  const last = LAST[fd]
  stream.on('data', (d: string) => {
    send({ t: 'data', id, fd, d })
    if (last !== undefined && d.includes(last)) stream.destroy()
  })
  stream.on('error', () => undefined)
}

function start(m: Extract<SpawnerRequest, { t: 'spawn' }>): void {
  let child: ChildProcess
  try {
    child = spawn(m.command, m.args, { env: m.env, stdio: ['pipe', 'pipe', 'pipe', m.readyPipe ? 'pipe' : 'ignore', ...(m.infoPipe ? ['pipe' as const] : [])] })
  } catch (e) {
    send({ t: 'error', id: m.id, message: (e as Error).message })
    return
  }
  children.set(m.id, child)
  child.stdin!.on('error', () => undefined)
  child.once('spawn', () => {
    if (m.nice !== undefined) {
      try { setPriority(child.pid!, m.nice) } catch { /* not permitted: runs at normal priority */ }
    }
    send({ t: 'spawned', id: m.id, pid: child.pid! })
  })
  child.once('error', (e) => {
    children.delete(m.id)
    send({ t: 'error', id: m.id, message: e.message })
  })
  forward(m.id, child.stdout, 1)
  forward(m.id, child.stderr, 2)
  forward(m.id, child.stdio[3] as Readable | null, 3)
  if (m.infoPipe) forward(m.id, child.stdio[4] as Readable | null, 4)
  child.once('exit', (code, signal) => send({ t: 'exit', id: m.id, code, signal }))
  child.once('close', () => {
    children.delete(m.id)
    send({ t: 'close', id: m.id })
  })
}

/**
 * SIGKILL for a child and every process under it. Killing the child alone is not enough: bubblewrap's
 * sandbox process waits for its parent's go-ahead before it arms --die-with-parent, so a bubblewrap
 * killed in between leaves it waiting forever (seen after a SIGKILLed `kiln up`).
 */
function killTree(c: ChildProcess): void {
  // Read first, then killed parents first: the child's exit still says SIGKILL, and the pids read stay
  // valid (an orphan keeps its pid).
  const pids = c.pid === undefined ? [] : processTree(c.pid)
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }
}

function killAll(): void {
  for (const c of children.values()) killTree(c)
}

process.on('message', (m: SpawnerRequest) => {
  if (m.t === 'spawn') start(m)
  else if (m.t === 'kill') {
    const c = children.get(m.id)
    if (c === undefined) return
    if (m.signal === 'SIGKILL') killTree(c)
    else try { c.kill(m.signal) } catch { /* already gone */ }
  }
})
process.on('disconnect', () => {
  killAll()
  process.exit(0)
})
process.on('SIGTERM', () => undefined) // the platform ends this process by disconnecting
process.on('exit', killAll)
send({ t: 'up', pid: process.pid })
