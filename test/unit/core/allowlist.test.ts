// The callback allowlist (core/allowlist.ts): patterns, the addresses refused without an exact entry,
// URL checks, and the connect-time lookup that checks what a name really resolves to.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { HostAllowlist, parseHostPattern, specialAddress } from '../../../core/allowlist.js'
import { loadConfig } from '../../../core/config.js'

const code = (fn: () => unknown) => {
  try {
    fn()
    return 'ok'
  } catch (e) {
    return (e as { code?: string }).code ?? 'error'
  }
}

describe('callback allowlist', () => {
  it('parses hosts, *.suffix wildcards, *, ports and bracketed IPv6; refuses malformed patterns', () => {
    expect(parseHostPattern('API.example.com')).toMatchObject({ host: 'api.example.com', wildcard: false, port: undefined })
    expect(parseHostPattern('*.example.com:8443')).toMatchObject({ host: 'example.com', wildcard: true, port: 8443 })
    expect(parseHostPattern('*')).toMatchObject({ host: '', wildcard: true })
    expect(parseHostPattern('[::1]:9000')).toMatchObject({ host: '::1', port: 9000 })
    expect(parseHostPattern('10.0.0.5')).toMatchObject({ host: '10.0.0.5' })
    for (const bad of ['a*.example.com', 'example.com:x', 'example.com:70000', '*.1.2.3.4', 'exa mple.com', '']) expect(() => parseHostPattern(bad), bad).toThrow()
  })

  it('matches exact hosts, subdomains of a wildcard (not the domain itself), and ports when given', () => {
    const list = new HostAllowlist(['api.example.com', '*.hooks.example.org', 'svc.local:8080'])
    expect(list.match('api.example.com', 443)?.source).toBe('api.example.com')
    expect(list.match('a.b.hooks.example.org', 80)?.source).toBe('*.hooks.example.org')
    expect(list.match('hooks.example.org', 80)).toBeUndefined()
    expect(list.match('evilhooks.example.org', 80)).toBeUndefined()
    expect(list.match('svc.local', 8080)).toBeDefined()
    expect(list.match('svc.local', 8081)).toBeUndefined()
    expect(new HostAllowlist([]).match('anything.com', 80)).toBeUndefined()
  })

  it('knows loopback, link-local, metadata and unspecified addresses, IPv4-mapped ones included', () => {
    expect(specialAddress('127.0.0.1')).toBe('loopback')
    expect(specialAddress('127.8.9.10')).toBe('loopback')
    expect(specialAddress('::1')).toBe('loopback')
    expect(specialAddress('::ffff:127.0.0.1')).toBe('loopback')
    expect(specialAddress('169.254.169.254')).toBe('metadata')
    expect(specialAddress('169.254.1.1')).toBe('link-local')
    expect(specialAddress('fe80::1')).toBe('link-local')
    expect(specialAddress('fd00:ec2::254')).toBe('metadata')
    expect(specialAddress('0.0.0.0')).toBe('unspecified')
    expect(specialAddress('93.184.216.34')).toBeUndefined()
    expect(specialAddress('10.1.2.3')).toBeUndefined()
  })

  it('checkUrl: http(s) only, no credentials, the host listed; special addresses only by an exact entry', () => {
    const star = new HostAllowlist(['*'])
    expect(code(() => star.checkUrl('https://api.example.com/x'))).toBe('ok')
    expect(code(() => star.checkUrl('ftp://api.example.com/x'))).toBe('KILN_ERR_HOST_NOT_ALLOWED')
    expect(code(() => star.checkUrl('http://user:pw@api.example.com/'))).toBe('KILN_ERR_HOST_NOT_ALLOWED')
    expect(code(() => star.checkUrl('http://127.0.0.1:8080/'))).toBe('KILN_ERR_HOST_NOT_ALLOWED')
    expect(code(() => star.checkUrl('http://[::1]/'))).toBe('KILN_ERR_HOST_NOT_ALLOWED')
    expect(code(() => star.checkUrl('http://169.254.169.254/latest'))).toBe('KILN_ERR_HOST_NOT_ALLOWED')
    expect(code(() => star.checkUrl('http://metadata.google.internal/'))).toBe('KILN_ERR_HOST_NOT_ALLOWED')
    expect(code(() => star.checkUrl('not a url'))).toBe('KILN_ERR_VALIDATION')
    const exact = new HostAllowlist(['127.0.0.1:8080', 'api.example.com'])
    expect(code(() => exact.checkUrl('http://127.0.0.1:8080/'))).toBe('ok')
    expect(code(() => exact.checkUrl('http://127.0.0.1:8081/'))).toBe('KILN_ERR_HOST_NOT_ALLOWED')
    expect(code(() => exact.checkUrl('https://api.example.com/'))).toBe('ok')
    expect(code(() => exact.checkUrl('https://other.example.com/'))).toBe('KILN_ERR_HOST_NOT_ALLOWED')
  })

  it('lookup: a name that resolves to a loopback address is refused unless listed exactly', async () => {
    const resolve = (list: HostAllowlist, host: string) =>
      new Promise<string>((r) => list.lookup(host, { all: true }, (err, addrs) => r(err ? (err as { code?: string }).code ?? 'error' : (addrs as Array<{ address: string }>)[0]!.address)))
    expect(await resolve(new HostAllowlist(['*']), 'localhost')).toBe('KILN_ERR_HOST_NOT_ALLOWED')
    expect(await resolve(new HostAllowlist(['*.localhost', '*']), 'localhost')).toBe('KILN_ERR_HOST_NOT_ALLOWED')
    expect(await resolve(new HostAllowlist(['localhost:9000']), 'localhost')).toMatch(/^(127\.0\.0\.1|::1)$/)
  })

  it('callbackHosts come from kiln.yaml or KILN_CALLBACK_HOSTS; a bad pattern stops the config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-allow-'))
    try {
      expect(loadConfig({ dataDir: dir }, {}).callbackHosts).toEqual([])
      await writeFile(join(dir, 'kiln.yaml'), 'callbackHosts: ["*.example.com", "hooks.local:8080"]\n')
      expect(loadConfig({ dataDir: dir }, {}).callbackHosts).toEqual(['*.example.com', 'hooks.local:8080'])
      expect(loadConfig({ dataDir: dir }, { KILN_CALLBACK_HOSTS: 'a.example.com, b.example.com' }).callbackHosts).toEqual(['a.example.com', 'b.example.com'])
      await writeFile(join(dir, 'kiln.yaml'), 'callbackHosts: ["bad host"]\n')
      expect(() => loadConfig({ dataDir: dir }, {})).toThrow(expect.objectContaining({ code: 'KILN_ERR_VALIDATION' }))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
