// Pod IPs of the node simulator: one loopback address per pod, so pods share ports as in a cluster.
import { createServer, type Server } from 'node:net'
import { describe, expect, it } from 'vitest'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LoopbackAddresses, reserveLoopbackOctet } from './node-sim/addresses.js'

const listen = (host: string, port: number) => new Promise<Server>((resolve, reject) => {
  const s = createServer()
  s.once('error', reject)
  s.listen(port, host, () => resolve(s))
})

describe('LoopbackAddresses', () => {
  it('gives each pod its own 127.x address and the same one again for the same pod', () => {
    const a = new LoopbackAddresses(200)
    try {
      const ips = Array.from({ length: 300 }, (_, i) => a.allocate(`uid-${i}`))
      expect(new Set(ips).size).toBe(300)
      expect(ips[0]).toBe('127.200.0.1')
      expect(ips[253]).toBe('127.200.0.254')
      expect(ips[254]).toBe('127.200.1.1')
      expect(a.allocate('uid-5')).toBe(ips[5])
    } finally { a.dispose() }
  })

  it('reuses a released address', () => {
    const a = new LoopbackAddresses(201)
    try {
      const first = a.allocate('x')
      a.allocate('y')
      a.release('x')
      expect(a.allocate('z')).toBe(first)
    } finally { a.dispose() }
  })

  it('two simulators in one process take different /16s', () => {
    const a = new LoopbackAddresses()
    const b = new LoopbackAddresses()
    try {
      expect(a.octet).not.toBe(b.octet)
    } finally { a.dispose(); b.dispose() }
  })

  it('two pods listen on the same port, each on its own address (Linux routes 127/8 to lo)', async () => {
    const a = new LoopbackAddresses(202)
    const servers: Server[] = []
    try {
      const port = await new Promise<number>(r => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as any).port; s.close(() => r(p)) }) })
      servers.push(await listen(a.allocate('p1'), port))
      servers.push(await listen(a.allocate('p2'), port))
      expect(servers.map(s => (s.address() as any).address)).toEqual(['127.202.0.1', '127.202.0.2'])
    } finally {
      await Promise.all(servers.map(s => new Promise(r => s.close(r))))
      a.dispose()
    }
  })

  it('an octet is reserved for the machine by a file naming the holder; a dead holder\'s is taken over', () => {
    const a = new LoopbackAddresses()
    const file = join(tmpdir(), 'kiln-loopback-octets', String(a.octet))
    try {
      expect(readFileSync(file, 'utf8')).toBe(String(process.pid))
    } finally { a.dispose() }
    expect(existsSync(file)).toBe(false)
    // A reservation left by a process that is gone (pid 2^22 + 1 is above Linux's largest pid_max),
    // on an octet just free (reserved and released here, so no live simulator holds it).
    const free = reserveLoopbackOctet()
    free.release()
    const stale = join(tmpdir(), 'kiln-loopback-octets', String(free.octet))
    writeFileSync(stale, String(4_194_305))
    const r = reserveLoopbackOctet(free.octet, free.octet)
    try {
      expect(r.octet).toBe(free.octet)
      expect(readFileSync(stale, 'utf8')).toBe(String(process.pid))
    } finally { r.release() }
  })
})
