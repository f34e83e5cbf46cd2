// Pod IPs for simulated pods: one loopback address each. Linux routes all of 127.0.0.0/8 to lo, so a
// process can bind 127.a.b.c with no setup, and two pods may both listen on port 8888.
//
// Each simulator takes its own 127.<octet>.0.0/16, chosen at random and reserved by a file for the
// whole machine (reserveLoopbackOctet), so simulators in parallel test workers, or in two test runs at
// once, never share one; 127.0.0.0/16 is left to the host.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const taken = new Set<number>()
const RESERVATIONS = join(tmpdir(), 'kiln-loopback-octets')

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM' }
}

/** An octet in [from, to] no other process on this machine holds (a file per octet naming its pid). */
export function reserveLoopbackOctet(from = 1, to = 254): { octet: number; release(): void } {
  mkdirSync(RESERVATIONS, { recursive: true })
  for (let tries = 0; tries < 1000; tries++) {
    const octet = from + Math.floor(Math.random() * (to - from + 1))
    if (taken.has(octet)) continue
    const file = join(RESERVATIONS, String(octet))
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      taken.add(octet)
      return { octet, release: () => { taken.delete(octet); try { unlinkSync(file) } catch { /* gone */ } } }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      // A holder that died without releasing: its reservation is free.
      const pid = Number(readFileSync(file, 'utf8').trim())
      if (Number.isInteger(pid) && pid > 0 && !alive(pid)) { try { unlinkSync(file) } catch { /* raced */ } }
    }
  }
  throw new Error(`no free loopback octet in ${from}..${to}`)
}

export class LoopbackAddresses {
  readonly octet: number
  private next = 1
  private readonly free: number[] = []
  private readonly inUse = new Map<string, number>()

  private readonly reservation?: { octet: number; release(): void }

  /** `octet`: one the caller reserved (or a unit test's); none: one reserved here, released by dispose. */
  constructor(octet?: number) {
    if (octet === undefined) {
      const r = reserveLoopbackOctet()
      this.reservation = r
      octet = r.octet
    }
    if (octet < 1 || octet > 254) throw new Error(`loopback octet ${octet} must be 1..254`)
    this.octet = octet
    taken.add(octet)
  }

  /** An address for `key` (a pod uid); the same key gets the same address until released. */
  allocate(key: string): string {
    const have = this.inUse.get(key)
    if (have !== undefined) return this.format(have)
    const n = this.free.shift() ?? this.next++
    if (n >= 254 * 256) throw new Error('loopback addresses exhausted')
    this.inUse.set(key, n)
    return this.format(n)
  }

  release(key: string): void {
    const n = this.inUse.get(key)
    if (n === undefined) return
    this.inUse.delete(key)
    this.free.push(n)
  }

  dispose(): void {
    taken.delete(this.octet)
    this.reservation?.release()
  }

  // n counts hosts from 1; skip .0 and .255 in the last octet.
  private format(n: number): string {
    const third = Math.floor((n - 1) / 254)
    const fourth = ((n - 1) % 254) + 1
    return `127.${this.octet}.${third}.${fourth}`
  }
}
