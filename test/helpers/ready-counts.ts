// Each live function version's ready count (FunctionState.readyCount, kept as instances change state)
// against a recount of its instances: asserted after tests that drive real instances through their
// states (loads, requests, kills, rolls, drains, ejections).
import { expect } from 'vitest'
import type { Executor } from '../../executor/executor.js'

export function expectReadyCountsTrue(executor: Executor): void {
  const fns = executor.functions()
  expect(fns.map((fs) => [fs.key, fs.readyCount])).toEqual(fns.map((fs) => [fs.key, fs.instances.filter((r) => r.state === 'ready').length]))
}
