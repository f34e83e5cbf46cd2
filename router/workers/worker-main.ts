// The program of a router process (dist/router-worker.js), forked by the platform's process
// (supervisor.ts) with an IPC channel: connections and batches of grants arrive on it, batches of
// requests for slots and releases leave on it. Without the channel (the platform's process is gone) it
// stops at once: its slots died with the platform.
import type { Socket } from 'node:net'
import { createLogger } from '../../core/logger.js'
import { CONN, READY, STOP, type FromRouter, type RouterWorkerConfig, type ToRouter } from './protocol.js'
import { createRouterWorker } from './worker.js'

const config = JSON.parse(process.env.KILN_ROUTER_WORKER ?? 'null') as RouterWorkerConfig | null
if (config === null || process.send === undefined) {
  process.stderr.write('router-worker.js is started by `kiln up --router-processes N`, not by hand\n')
  process.exit(2)
}
const send = process.send.bind(process)
const logger = createLogger({ level: config.logLevel }).child({ part: 'router', router: config.index })
const worker = createRouterWorker({
  send: (batch: FromRouter[]) => { if (process.connected) send(batch) },
  platformSocket: config.platformSocket,
  logger,
  accessLog: config.accessLog,
})

let stopping = false
process.on('message', (m: unknown, handle?: Socket) => {
  if (m === CONN) {
    if (handle === undefined) return
    if (stopping) handle.destroy()
    else worker.take(handle)
    return
  }
  if (m === STOP) {
    if (stopping) return
    stopping = true
    // The last releases are written before the channel closes (a send's callback runs once it is written).
    void worker.drain().then(() => worker.close()).then(() => send([], () => process.disconnect()))
    return
  }
  if (Array.isArray(m)) worker.onBatch(m as ToRouter[])
})
process.on('disconnect', () => process.exit(stopping ? 0 : 1))
// Signals are the platform process's to handle: Ctrl-C reaches the whole process group, and a service
// manager signals every process of the service; the platform's process drains this one, then stops it.
process.on('SIGINT', () => undefined)
process.on('SIGTERM', () => undefined)
send(READY)
