// The callback allowlist: which hosts Kiln may send a request to on someone else's behalf (a workflow's
// `http` task, an X-Callback-Url). Patterns come from `callbackHosts` in kiln.yaml or KILN_CALLBACK_HOSTS:
// `api.example.com`, `*.example.com` (any subdomain), `*` (any host), each with an optional `:port`.
// An empty list allows nothing. Loopback, link-local and cloud metadata addresses are refused even when
// a pattern admits the host, unless the operator lists that exact host (not a wildcard): a public name
// that resolves to 127.0.0.1 or 169.254.169.254 must not reach the platform or the machine's credentials.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns'
import { isIP } from 'node:net'
import { KilnError } from './errors.js'

export interface HostPattern {
  /** lower-case host name or IP (IPv6 without brackets); for a wildcard, the suffix after `*.` ('' for `*`) */
  host: string
  wildcard: boolean
  /** undefined: any port */
  port?: number
  source: string
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/

function validHost(host: string): boolean {
  if (isIP(host)) return true
  if (host.length === 0 || host.length > 253) return false
  return host.split('.').every((l) => LABEL.test(l))
}

/** Parses one pattern; throws an Error naming what is wrong. */
export function parseHostPattern(source: string): HostPattern {
  const s = source.trim().toLowerCase()
  let host = s
  let port: number | undefined
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(s)
  if (bracketed) {
    host = bracketed[1]!
    if (bracketed[2] !== undefined) port = Number(bracketed[2])
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const i = s.lastIndexOf(':')
    host = s.slice(0, i)
    if (!/^\d+$/.test(s.slice(i + 1))) throw new Error(`"${source}": the port must be a number`)
    port = Number(s.slice(i + 1))
  }
  if (port !== undefined && (port < 1 || port > 65535)) throw new Error(`"${source}": the port must be 1-65535`)
  if (host === '*') return { host: '', wildcard: true, port, source }
  if (host.startsWith('*.')) {
    const suffix = host.slice(2)
    if (!validHost(suffix) || isIP(suffix)) throw new Error(`"${source}": a wildcard is "*.domain" with a domain name after it`)
    return { host: suffix, wildcard: true, port, source }
  }
  if (host.includes('*')) throw new Error(`"${source}": "*" may only stand alone or as "*.domain"`)
  if (!validHost(host)) throw new Error(`"${source}": not a host name or IP address`)
  return { host, wildcard: false, port, source }
}

const v4 = (ip: string) => ip.split('.').map(Number)

/** Why an address must not be reached without an explicit listing, or undefined for an ordinary address. */
export function specialAddress(address: string): 'loopback' | 'link-local' | 'metadata' | 'unspecified' | undefined {
  let ip = address.toLowerCase()
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1)
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip)
  if (mapped) ip = mapped[1]!
  const family = isIP(ip)
  if (family === 4) {
    const [a, b, c, d] = v4(ip) as [number, number, number, number]
    if (a === 127) return 'loopback'
    if (a === 0) return 'unspecified'
    if (a === 169 && b === 254) return c === 169 && d === 254 ? 'metadata' : 'link-local'
    if (a === 100 && b === 100 && c === 100 && d === 200) return 'metadata' // Alibaba Cloud
    return undefined
  }
  if (family === 6) {
    if (ip === '::1') return 'loopback'
    if (ip === '::') return 'unspecified'
    if (/^fe[89ab][0-9a-f]?:/.test(ip)) return 'link-local'
    if (ip === 'fd00:ec2::254') return 'metadata' // AWS over IPv6
    return undefined
  }
  return undefined
}

const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal', 'instance-data', 'instance-data.ec2.internal'])

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void

export class HostAllowlist {
  readonly patterns: readonly HostPattern[]

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map(parseHostPattern)
  }

  /** The pattern that admits host:port, if any. */
  match(host: string, port: number): HostPattern | undefined {
    const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '')
    return this.patterns.find((p) => {
      if (p.port !== undefined && p.port !== port) return false
      if (!p.wildcard) return p.host === h
      return p.host === '' || h.endsWith(`.${p.host}`)
    })
  }

  /** True when the operator named this host itself (a wildcard does not count). */
  listedExactly(host: string): boolean {
    const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '')
    return this.patterns.some((p) => !p.wildcard && p.host === h)
  }

  /**
   * Checks a URL before anything is sent: http(s) only, its host:port admitted by a pattern, and an IP
   * literal or metadata name refused unless listed exactly. Returns the parsed URL; throws
   * KILN_ERR_HOST_NOT_ALLOWED (or KILN_ERR_VALIDATION for a URL that does not parse).
   */
  checkUrl(raw: string | URL): URL {
    let url: URL
    try {
      url = typeof raw === 'string' ? new URL(raw) : raw
    } catch {
      throw new KilnError('KILN_ERR_VALIDATION', `"${String(raw).slice(0, 200)}" is not a URL`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new KilnError('KILN_ERR_HOST_NOT_ALLOWED', `${url.protocol} URLs are not allowed (only http and https)`)
    if (url.username || url.password) throw new KilnError('KILN_ERR_HOST_NOT_ALLOWED', 'URLs with credentials are not allowed')
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
    if (!this.match(host, port)) throw new KilnError('KILN_ERR_HOST_NOT_ALLOWED', `${host}:${port} is not in callbackHosts${this.patterns.length === 0 ? ' (the list is empty: no host is allowed)' : ''}`)
    const special = isIP(host) ? specialAddress(host) : METADATA_NAMES.has(host.toLowerCase()) ? 'metadata' : undefined
    if (special && !this.listedExactly(host)) throw new KilnError('KILN_ERR_HOST_NOT_ALLOWED', `${host} is a ${special} address; only an exact callbackHosts entry allows it`)
    return url
  }

  /**
   * A dns.lookup replacement for net.connect (undici's `connect: {lookup}`): it refuses a name that
   * resolves to a loopback, link-local or metadata address unless that name is listed exactly. Checked
   * at connect time, on the addresses actually used, so a name re-pointed after checkUrl gains nothing.
   */
  readonly lookup = (hostname: string, options: LookupOneOptions | LookupAllOptions | LookupCallback, callback?: LookupCallback): void => {
    const cb = (typeof options === 'function' ? options : callback)!
    const opts = typeof options === 'function' ? {} : options
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return cb(err, '')
      if (!this.listedExactly(hostname)) {
        for (const a of addresses) {
          const special = specialAddress(a.address)
          if (special) {
            const e = new KilnError('KILN_ERR_HOST_NOT_ALLOWED', `${hostname} resolves to ${a.address}, a ${special} address; only an exact callbackHosts entry allows it`) as KilnError & { errno?: string }
            return cb(e as unknown as NodeJS.ErrnoException, '')
          }
        }
      }
      if ((opts as LookupAllOptions).all) return cb(null, addresses)
      const first = addresses[0]
      if (!first) return cb(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '')
      cb(null, first.address, first.family)
    })
  }
}
