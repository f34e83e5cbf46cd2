// Configuration precedence (docs/operators.md): flags > KILN_* environment > kiln.yaml in the data dir >
// defaults, one key at a time; and every bad value is KILN_ERR_VALIDATION naming where it came from.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultConfig, loadConfig, type KilnConfig } from '../../../core/config.js'

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'kiln-config-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

async function dataDir(yaml?: string): Promise<string> {
  const d = await mkdtemp(join(dir, 'data-'))
  if (yaml !== undefined) await writeFile(join(d, 'kiln.yaml'), yaml)
  return d
}

// One row per setting: the value each layer gives (flag as the CLI passes it, env and yaml as typed)
// and the resolved value expected from each.
const ROWS: { key: keyof KilnConfig; flag: unknown; env: [string, string]; yaml: string; values: [unknown, unknown, unknown] }[] = [
  { key: 'port', flag: '9001', env: ['KILN_PORT', '9002'], yaml: 'port: 9003', values: [9001, 9002, 9003] },
  { key: 'host', flag: '127.0.0.2', env: ['KILN_HOST', '127.0.0.3'], yaml: 'host: 127.0.0.4', values: ['127.0.0.2', '127.0.0.3', '127.0.0.4'] },
  { key: 'poolSize', flag: '5', env: ['KILN_POOL_SIZE', '6'], yaml: 'poolSize: 7', values: [5, 6, 7] },
  { key: 'instanceBudget', flag: '11', env: ['KILN_INSTANCE_BUDGET', '12'], yaml: 'instanceBudget: 13', values: [11, 12, 13] },
  { key: 'idleTimeoutMs', flag: '1s', env: ['KILN_IDLE_TIMEOUT', '2s'], yaml: 'idleTimeout: 3m', values: [1000, 2000, 180_000] },
  { key: 'maxBodyBytes', flag: 1024, env: ['KILN_MAX_BODY', '2Ki'], yaml: 'maxBody: 3Mi', values: [1024, 2048, 3 * 1024 * 1024] },
  { key: 'asyncMaxBodyBytes', flag: '4Ki', env: ['KILN_ASYNC_MAX_BODY', '5Ki'], yaml: 'asyncMaxBody: 6Mi', values: [4096, 5120, 6 * 1024 * 1024] },
  { key: 'queueLeaseMs', flag: '2s', env: ['KILN_QUEUE_LEASE', '3s'], yaml: 'queueLease: 1m', values: [2000, 3000, 60_000] },
  { key: 'logLevel', flag: 'debug', env: ['KILN_LOG_LEVEL', 'warn'], yaml: 'logLevel: error', values: ['debug', 'warn', 'error'] },
  { key: 'accessLog', flag: true, env: ['KILN_ACCESS_LOG', '0'], yaml: 'accessLog: true', values: [true, false, true] },
  { key: 'cgroups', flag: 'none', env: ['KILN_CGROUPS', 'v1'], yaml: 'cgroups: v2', values: ['none', 'v1', 'v2'] },
  { key: 'cgroupRoot', flag: 'kiln-a', env: ['KILN_CGROUP_ROOT', 'kiln-b'], yaml: 'cgroupRoot: kiln-c', values: ['kiln-a', 'kiln-b', 'kiln-c'] },
  { key: 'redisUrl', flag: 'redis://127.0.0.1:1', env: ['KILN_REDIS_URL', 'redis://127.0.0.1:2'], yaml: 'redisUrl: redis://127.0.0.1:3', values: ['redis://127.0.0.1:1', 'redis://127.0.0.1:2', 'redis://127.0.0.1:3'] },
]

describe('configuration precedence: flags > KILN_* env > kiln.yaml > defaults', () => {
  for (const r of ROWS) {
    it(`${r.key}: each layer wins over the ones below it`, async () => {
      const d = await dataDir(r.yaml)
      const env = { [r.env[0]]: r.env[1] }
      const flags = { dataDir: d, [r.key]: r.flag } as Partial<KilnConfig>
      expect(loadConfig(flags, env)[r.key]).toEqual(r.values[0])
      expect(loadConfig({ dataDir: d }, env)[r.key]).toEqual(r.values[1])
      expect(loadConfig({ dataDir: d }, {})[r.key]).toEqual(r.values[2])
      expect(loadConfig({ dataDir: await dataDir() }, {})[r.key]).toEqual(defaultConfig()[r.key])
    })
  }

  it('the data dir comes from the flag, else KILN_DATA, else ./.kiln; its kiln.yaml is the one read', async () => {
    const a = await dataDir('poolSize: 1')
    const b = await dataDir('poolSize: 2')
    expect(loadConfig({ dataDir: a }, { KILN_DATA: b })).toMatchObject({ dataDir: a, poolSize: 1 })
    expect(loadConfig({}, { KILN_DATA: b })).toMatchObject({ dataDir: b, poolSize: 2 })
    expect(loadConfig({}, {}).dataDir).toBe(join(process.cwd(), '.kiln'))
  })

  it('loadLimits merge key by key across layers; nodes come from kiln.yaml', async () => {
    const d = await dataDir('loadLimits: { window: 9, sampleMs: 250 }\nnodes: [{ name: solo, cpus: 1 }]\n')
    const c = loadConfig({ dataDir: d, loadLimits: { window: 2 } }, {})
    expect(c.loadLimits).toEqual({ ...defaultConfig().loadLimits, window: 2, sampleMs: 250 })
    expect(c.nodes).toEqual([{ name: 'solo', cpus: 1 }])
  })

  it('autoscale and ejection: each key merges across layers on its own, durations as typed', async () => {
    const d = await dataDir('autoscale: { stableWindowMs: 10s, targetUtilization: 0.5 }\nejection: { consecutive5xx: 3 }\n')
    const c = loadConfig({ dataDir: d }, { KILN_AUTOSCALE_PANIC_WINDOW: '2s', KILN_EJECT_AFTER_5XX: '0' })
    expect(c.autoscale).toEqual({ ...defaultConfig().autoscale, stableWindowMs: 10_000, panicWindowMs: 2_000, targetUtilization: 0.5 })
    expect(c.ejection).toEqual({ ...defaultConfig().ejection, consecutive5xx: 0 })
    expect(c.autoscale.adaptiveConcurrency).toBe(true)
    expect(loadConfig({ dataDir: d }, { KILN_ADAPTIVE_CONCURRENCY: 'off' }).autoscale.adaptiveConcurrency).toBe(false)
    expect(() => loadConfig({ dataDir: d }, { KILN_ADAPTIVE_CONCURRENCY: 'maybe' })).toThrow(/KILN_ADAPTIVE_CONCURRENCY: must be true or false/)
  })

  it('routerProcesses: 1 by default; from kiln.yaml, the environment or the flag, 1 to 64, each error naming its source', async () => {
    const d = await dataDir('routerProcesses: 3\n')
    expect(loadConfig({ dataDir: d }, {}).routerProcesses).toBe(3)
    expect(loadConfig({ dataDir: d }, { KILN_ROUTER_PROCESSES: '4' }).routerProcesses).toBe(4)
    expect(loadConfig({ dataDir: d, routerProcesses: '2' } as unknown as Partial<KilnConfig>, { KILN_ROUTER_PROCESSES: '4' }).routerProcesses).toBe(2)
    expect(loadConfig({ dataDir: await dataDir('') }, {}).routerProcesses).toBe(1)
    expect(() => loadConfig({ dataDir: d }, { KILN_ROUTER_PROCESSES: '0' })).toThrow(/KILN_ROUTER_PROCESSES: must be an integer from 1 to 64/)
    expect(() => loadConfig({ dataDir: d, routerProcesses: '65' } as unknown as Partial<KilnConfig>, {})).toThrow(/--router-processes: must be an integer from/)
    const bad = await dataDir('routerProcesses: many\n')
    expect(() => loadConfig({ dataDir: bad }, {})).toThrow(/routerProcesses: must be an integer/)
  })

  it('sandbox: each key merges across layers on its own (limits field by field); KILN_SANDBOX turns it off', async () => {
    const d = await dataDir('sandbox: { network: none, uids: 200000-265535, limits: { default: { tmp: 8Mi }, max: { memory: 1Gi } }, mounts: [{ source: /srv/m, target: /opt/m }] }\n')
    const c = loadConfig({ dataDir: d, sandbox: { limits: { default: { memory: '256Mi' } } } } as Partial<KilnConfig>, { KILN_SANDBOX_NETWORK: 'host' })
    expect(c.sandbox.network).toBe('host')
    expect(c.sandbox.uids).toBe('200000-265535')
    expect(c.sandbox.limits.default).toEqual({ ...defaultConfig().sandbox.limits.default, tmp: '8Mi', memory: '256Mi' })
    expect(c.sandbox.limits.max).toEqual({ ...defaultConfig().sandbox.limits.max, memory: '1Gi' })
    expect(c.sandbox.mounts).toEqual([{ source: '/srv/m', target: '/opt/m' }])
    expect(c.sandbox.programs).toEqual(defaultConfig().sandbox.programs)
    expect(loadConfig({ dataDir: d }, {}).sandbox.network).toBe('none')
    expect(loadConfig({ dataDir: d }, { KILN_SANDBOX: 'off' }).sandbox.enabled).toBe(false)
    expect(loadConfig({ dataDir: await dataDir() }, {}).sandbox).toEqual(defaultConfig().sandbox)
  })

  it('an empty environment variable is unset, not a value', async () => {
    expect(loadConfig({ dataDir: await dataDir() }, { KILN_PORT: '' }).port).toBe(8080)
  })
})

describe('bad values are KILN_ERR_VALIDATION naming the flag, variable or kiln.yaml key', () => {
  const BAD: { where: string; flags?: Record<string, unknown>; env?: Record<string, string>; yaml?: string; names: RegExp }[] = [
    { where: 'flag --port not a number', flags: { port: 'eighty' }, names: /^--port: must be an integer from 0 to 65535, got "eighty"$/ },
    { where: 'flag --port out of range', flags: { port: '70000' }, names: /^--port: must be an integer from 0 to 65535/ },
    { where: 'flag --idle-timeout', flags: { idleTimeoutMs: 'soon' }, names: /^--idle-timeout: must be a duration/ },
    { where: 'flag --cgroups', flags: { cgroups: 'v3' }, names: /^--cgroups: must be one of auto, v2, v1, none, got "v3"$/ },
    { where: 'flag --pool-size negative', flags: { poolSize: -1 }, names: /^--pool-size: must be a non-negative integer, got -1$/ },
    { where: 'KILN_PORT', env: { KILN_PORT: '80a' }, names: /^KILN_PORT: must be an integer from 0 to 65535, got "80a"$/ },
    { where: 'KILN_POOL_SIZE', env: { KILN_POOL_SIZE: '2.5' }, names: /^KILN_POOL_SIZE: must be a non-negative integer/ },
    { where: 'KILN_IDLE_TIMEOUT', env: { KILN_IDLE_TIMEOUT: '5 minutes' }, names: /^KILN_IDLE_TIMEOUT: must be a duration/ },
    { where: 'KILN_MAX_BODY', env: { KILN_MAX_BODY: 'lots' }, names: /^KILN_MAX_BODY: must be a size/ },
    { where: 'KILN_ASYNC_MAX_BODY', env: { KILN_ASYNC_MAX_BODY: 'lots' }, names: /^KILN_ASYNC_MAX_BODY: must be a size/ },
    { where: 'kiln.yaml asyncMaxBody', yaml: 'asyncMaxBody: -1', names: /kiln\.yaml: asyncMaxBody: must be a size/ },
    { where: 'KILN_QUEUE_LEASE', env: { KILN_QUEUE_LEASE: '500ms' }, names: /^KILN_QUEUE_LEASE: must be a duration of at least 1s/ },
    { where: 'kiln.yaml queueLease', yaml: 'queueLease: soon', names: /kiln\.yaml: queueLease: must be a duration of at least 1s/ },
    { where: 'KILN_LOG_LEVEL', env: { KILN_LOG_LEVEL: 'loud' }, names: /^KILN_LOG_LEVEL: must be one of fatal/ },
    { where: 'KILN_ACCESS_LOG', env: { KILN_ACCESS_LOG: 'yes please' }, names: /^KILN_ACCESS_LOG: must be true or false/ },
    { where: 'KILN_CGROUPS', env: { KILN_CGROUPS: 'auto ' }, names: /^KILN_CGROUPS: must be one of/ },
    { where: 'KILN_CGROUP_ROOT escaping the tree', env: { KILN_CGROUP_ROOT: '../x' }, names: /^KILN_CGROUP_ROOT: must be a cgroup name/ },
    { where: 'KILN_REDIS_URL', env: { KILN_REDIS_URL: 'localhost:6379' }, names: /^KILN_REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/ },
    { where: 'kiln.yaml port', yaml: 'port: http', names: /kiln\.yaml: port: must be an integer from 0 to 65535, got "http"$/ },
    { where: 'kiln.yaml unknown key (a typo)', yaml: 'poolsize: 4', names: /kiln\.yaml: poolsize: must be one of .* \(unknown key\), got 4$/ },
    { where: 'kiln.yaml loadLimits key', yaml: 'loadLimits: { windw: 3 }', names: /kiln\.yaml: loadLimits\.windw: must be one of/ },
    { where: 'kiln.yaml loadLimits value', yaml: 'loadLimits: { window: -3 }', names: /kiln\.yaml: loadLimits\.window: must be a non-negative number, got -3$/ },
    { where: 'kiln.yaml nodes', yaml: 'nodes: general', names: /kiln\.yaml: nodes: must be a list of nodes/ },
    { where: 'kiln.yaml not a map', yaml: '- 1\n- 2\n', names: /kiln\.yaml: must be a map of settings/ },
    { where: 'KILN_SANDBOX', env: { KILN_SANDBOX: 'maybe' }, names: /^KILN_SANDBOX: must be true or false/ },
    { where: 'KILN_SANDBOX_NETWORK', env: { KILN_SANDBOX_NETWORK: 'wide' }, names: /^KILN_SANDBOX_NETWORK: must be one of egress, none, host, got "wide"$/ },
    { where: 'kiln.yaml autoscale key (a typo)', yaml: 'autoscale: { stableWindow: 10s }', names: /kiln\.yaml: autoscale\.stableWindow: must be one of .* \(unknown key\)/ },
    { where: 'kiln.yaml autoscale share', yaml: 'autoscale: { targetUtilization: 1.5 }', names: /kiln\.yaml: autoscale\.targetUtilization: must be a share from 0 to 1, got 1\.5$/ },
    { where: 'KILN_AUTOSCALE_STABLE_WINDOW', env: { KILN_AUTOSCALE_STABLE_WINDOW: 'soon' }, names: /^KILN_AUTOSCALE_STABLE_WINDOW: must be a duration/ },
    { where: 'KILN_EJECT_AFTER_5XX', env: { KILN_EJECT_AFTER_5XX: '-1' }, names: /^KILN_EJECT_AFTER_5XX: must be an integer from 0 to 1000000/ },
    { where: 'kiln.yaml sandbox not a map', yaml: 'sandbox: on', names: /kiln\.yaml: sandbox: must be a map of enabled, network/ },
    { where: 'kiln.yaml sandbox key (a typo)', yaml: 'sandbox: { netwrk: none }', names: /kiln\.yaml: sandbox\.netwrk: must be one of .* \(unknown key\), got "none"$/ },
    { where: 'kiln.yaml sandbox.enabled', yaml: 'sandbox: { enabled: sometimes }', names: /kiln\.yaml: sandbox\.enabled: must be true or false/ },
    { where: 'kiln.yaml sandbox.uids', yaml: 'sandbox: { uids: 5-10 }', names: /kiln\.yaml: sandbox\.uids: must be "FIRST-LAST"/ },
    { where: 'kiln.yaml sandbox.limits size', yaml: 'sandbox: { limits: { default: { memory: lots } } }', names: /kiln\.yaml: sandbox\.limits\.default\.memory: must be a size/ },
    { where: 'kiln.yaml sandbox.limits count', yaml: 'sandbox: { limits: { max: { pids: -1 } } }', names: /kiln\.yaml: sandbox\.limits\.max\.pids: must be a positive integer, got -1$/ },
    { where: 'kiln.yaml sandbox.limits key', yaml: 'sandbox: { limits: { maximum: {} } }', names: /kiln\.yaml: sandbox\.limits\.maximum: must be one of default, max/ },
    { where: 'kiln.yaml sandbox.mounts relative', yaml: 'sandbox: { mounts: [{ source: models, target: /opt/m }] }', names: /kiln\.yaml: sandbox\.mounts\[0\]\.source: must be an absolute path, got "models"$/ },
    { where: 'kiln.yaml sandbox.mounts without target', yaml: 'sandbox: { mounts: [{ source: /srv/m }] }', names: /kiln\.yaml: sandbox\.mounts\[0\]\.target: must be set/ },
    { where: 'kiln.yaml sandbox.programs', yaml: 'sandbox: { programs: { bwrap: "" } }', names: /kiln\.yaml: sandbox\.programs\.bwrap: must be a program name or path/ },
    { where: 'kiln.yaml not YAML (cut short)', yaml: 'nodes: [{ name: general, labels: {', names: /kiln\.yaml: / },
  ]
  for (const b of BAD) {
    it(b.where, async () => {
      const d = await dataDir(b.yaml)
      let err: unknown
      try { loadConfig({ dataDir: d, ...b.flags } as Partial<KilnConfig>, b.env ?? {}) } catch (e) { err = e }
      expect(err).toMatchObject({ code: 'KILN_ERR_VALIDATION', status: 400 })
      expect((err as Error).message).toMatch(b.names)
    })
  }
})
