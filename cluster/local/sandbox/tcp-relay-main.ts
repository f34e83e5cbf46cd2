// The TCP relay (dist/relay/tcp-relay.js): lets the platform reach a runtime that only speaks TCP (a
// Fission environment server) over the instance's Unix socket, like every other runtime. It starts the
// runtime as its child with PORT set, waits until that port accepts connections inside the instance's
// own network namespace, then listens on $KILN_SOCKET, pipes each connection to the port, and reports
// ready on $KILN_READY_FD. It exits with the runtime (same status) and passes SIGTERM on to it.
import { spawn } from 'node:child_process'
import { closeSync, unlinkSync, writeSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'

const socketPath = process.env.KILN_SOCKET
const port = Number(process.env.PORT)
const argv = process.argv.slice(2)
if (!socketPath || !Number.isInteger(port) || port <= 0 || argv.length === 0) {
  process.stderr.write('kiln tcp relay: needs KILN_SOCKET, PORT and a command\n')
  process.exit(2)
}
const readyFd = Number(process.env.KILN_READY_FD)
const env: NodeJS.ProcessEnv = { ...process.env, HOST: process.env.HOST || '127.0.0.1' }
delete env.KILN_READY_FD
delete env.KILN_SOCKET

const child = spawn(argv[0], argv.slice(1), { env, stdio: ['inherit', 'inherit', 'inherit'] })
child.on('error', (err) => {
  process.stderr.write(`kiln tcp relay: cannot start ${argv[0]}: ${err.message}\n`)
  process.exit(127)
})
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)))
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => child.kill(sig))

function probe(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true) })
    s.on('error', () => resolve(false))
  })
}

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b)
  b.pipe(a)
  a.on('error', () => b.destroy())
  b.on('error', () => a.destroy())
  a.on('close', () => b.destroy())
  b.on('close', () => a.destroy())
}

async function main(): Promise<void> {
  while (!(await probe())) await new Promise((r) => setTimeout(r, 5))
  try { unlinkSync(socketPath!) } catch { /* not there */ }
  const server = createServer((c) => pipeBoth(c, connect({ host: '127.0.0.1', port, noDelay: true })))
  server.listen(socketPath, () => {
    if (Number.isInteger(readyFd) && readyFd > 2) {
      try {
        writeSync(readyFd, JSON.stringify({ socket: socketPath, pid: process.pid }) + '\n')
        closeSync(readyFd)
      } catch { /* the platform polls instead */ }
    }
  })
}

void main()
