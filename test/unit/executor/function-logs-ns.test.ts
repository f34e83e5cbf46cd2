import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { silentLogger } from '../../../core/logger.js'
import { FunctionLogs } from '../../../executor/function-logs.js'
import type { InstanceRecord } from '../../../poolmgr/instance.js'

it('output of a function outside default goes to logs/<namespace>/<name>.log and reads back by its ref', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-logs-'))
  try {
    const fnOf: Record<string, string> = { i1: 'team-a/talker', i2: 'talker' }
    const logs = new FunctionLogs(dir, (id) => ({ fn: fnOf[id] }) as InstanceRecord, silentLogger)
    await logs.init()
    logs.sink('i1', 'stdout', 'from team-a')
    logs.sink('i2', 'stdout', 'from default')
    const a = await logs.read('team-a/talker', 10)
    const d = await logs.read('talker', 10)
    expect(a.join('\n')).toContain('from team-a')
    expect(a.join('\n')).not.toContain('from default')
    expect(d.join('\n')).toContain('from default')
    await logs.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
