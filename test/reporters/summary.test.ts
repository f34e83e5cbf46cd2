// The summary reporter on a real vitest run over fixture files with one test of each outcome: the last
// line is the plain count, skips are grouped by reason, a retried test is named with its count and
// fails the run, and a tier named in KILN_REQUIRE_TIERS that cannot run fails instead of skipping.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '..', '..')
const FIXTURES = join(import.meta.dirname, 'fixtures')
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs')

function vitest(files: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VITEST, 'run', '--config', join(FIXTURES, 'vitest.config.ts'), ...files], {
      cwd: FIXTURES,
      env: { ...process.env, CI: '', KILN_REQUIRE_TIERS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out }))
  })
}

describe('summary reporter', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'kiln-reporter-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('counts each outcome, groups skips by reason, names the retried test, and fails the run', async () => {
    const { code, out } = await vitest(['outcomes.check.ts'], { KILN_FIXTURE_RETRY_FILE: join(dir, 'retried') })
    const lines = out.trimEnd().split('\n')
    expect(lines.at(-1)).toBe('tests: 2 passed, 1 failed, 5 skipped')
    expect(out).toContain('  2 × k8s: no control plane here\n')
    expect(out).toContain('  1 × needs a unicorn\n')
    expect(out).toContain('  1 × not applicable: runtime x has no fixture y\n')
    expect(out).toContain('  1 × no reason given\n')
    expect(out).toContain('retried 1 (a test that passes only on a retry fails the run):\n  outcomes.check.ts > passes on its second attempt: retried 1×, then passed\n')
    expect(out).toContain('  outcomes.check.ts > fails\n')
    expect(code).toBe(1)
  }, 60_000)

  it('a required tier that cannot run fails its file instead of skipping; unrequired, it skips with the reason', async () => {
    const required = await vitest(['required.check.ts'], { KILN_REQUIRE_TIERS: 'python,cgroups' })
    expect(required.out.trimEnd().split('\n').at(-1)).toBe('tests: 0 passed, 1 failed, 0 skipped')
    expect(required.out).toContain('the cgroups tier is required here (KILN_REQUIRE_TIERS=python,cgroups) but cannot run: no writable cgroups')
    expect(required.code).toBe(1)

    const optional = await vitest(['required.check.ts'], { KILN_REQUIRE_TIERS: 'python' })
    expect(optional.out.trimEnd().split('\n').at(-1)).toBe('tests: 0 passed, 0 failed, 1 skipped')
    expect(optional.out).toContain('  1 × cgroups: no writable cgroups\n')
    expect(optional.code).toBe(0)
  }, 60_000)
})
