// The run's last word, after vitest's own report: how many tests passed, failed and were skipped,
// the skips grouped by their reason (test/helpers/tier.ts), and every test that needed a retry, by
// name with its count. A test that passed only on a retry fails the run: an intermittent failure in a
// test that proves "zero failed requests" is the bug that test exists for. The last line is the plain
// `tests: N passed, N failed, N skipped` that CI reads.
import type { SerializedError } from 'vitest'
import type { Reporter, TestCase, TestModule } from 'vitest/node'

export interface Retried { name: string; retries: number; passed: boolean }

export interface Summary {
  passed: number
  failed: number
  skipped: number
  /** reason → how many tests it skipped */
  skips: Map<string, number>
  retried: Retried[]
  /** tests that failed, and test files that failed outside any test (collection, hooks) */
  failures: string[]
  unhandled: number
}

const NO_REASON = 'no reason given'

function nameOf(t: TestCase): string {
  return `${t.module.relativeModuleId} > ${t.fullName}`
}

export function summarize(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError> = []): Summary {
  const s: Summary = { passed: 0, failed: 0, skipped: 0, skips: new Map(), retried: [], failures: [], unhandled: unhandled.length }
  for (const m of modules) {
    for (const t of m.children.allTests()) {
      const r = t.result()
      const retries = t.diagnostic()?.retryCount ?? 0
      if (retries > 0) s.retried.push({ name: nameOf(t), retries, passed: r.state === 'passed' })
      if (r.state === 'passed') s.passed++
      else if (r.state === 'failed') {
        s.failed++
        s.failures.push(nameOf(t))
      } else {
        s.skipped++
        const reason = r.state === 'pending' ? 'not run (the run stopped first)' : (t.meta().skipReason ?? r.note ?? NO_REASON)
        s.skips.set(reason, (s.skips.get(reason) ?? 0) + 1)
      }
    }
    // A file that failed to load, or a beforeAll/afterAll that failed (its tests then read as skipped),
    // counts as one failure of its own.
    for (const [where, errors] of [[m.relativeModuleId, m.errors()], ...[...m.children.allSuites()].map((x) => [`${m.relativeModuleId} > ${x.fullName}`, x.errors()] as const)] as const) {
      if (errors.length === 0) continue
      s.failed++
      s.failures.push(`${where} (outside any test): ${(errors[0]!.message ?? String(errors[0])).split('\n')[0]}`)
    }
  }
  s.failed += s.unhandled
  return s
}

/** The summary's lines; the last is the plain count line. */
export function formatSummary(s: Summary): string[] {
  const lines: string[] = []
  if (s.skipped > 0) {
    const groups = [...s.skips].sort((a, b) => b[1] - a[1]).map(([reason, n]) => `  ${n} × ${reason}`)
    lines.push(`skipped ${s.skipped}, by reason:`, ...groups)
  }
  if (s.retried.length > 0) {
    lines.push(`retried ${s.retried.length} (a test that passes only on a retry fails the run):`)
    for (const r of s.retried) lines.push(`  ${r.name}: retried ${r.retries}×, ${r.passed ? 'then passed' : 'still failed'}`)
  } else {
    lines.push('retried 0')
  }
  if (s.failures.length > 0) {
    lines.push(`failed ${s.failed}:`, ...s.failures.slice(0, 30).map((f) => `  ${f}`))
    if (s.failures.length > 30) lines.push(`  … and ${s.failures.length - 30} more`)
  }
  if (s.unhandled > 0) lines.push(`${s.unhandled} unhandled error(s) (see above)`)
  lines.push(`tests: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`)
  return lines
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): void {
    const s = summarize(modules, unhandled)
    process.stdout.write(`\n${formatSummary(s).join('\n')}\n`)
    if (s.retried.length > 0 || s.failed > 0) process.exitCode = 1
  }
}
