// A host folder that functions may write, for tests that count calls across instances and restarts:
// instances run as their own uids in their own file systems, so the folder is mounted into every
// instance by the operator's `sandbox.mounts` (writable, shared by every function) and is writable by
// any uid (sticky, like /tmp).
import { chmod, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SandboxMount } from '../../core/config.js'

export async function sharedDir(prefix: string): Promise<{ dir: string; mount: SandboxMount }> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  await chmod(dir, 0o1777)
  return { dir, mount: { source: dir, target: dir, writable: true } }
}

/** kiln.yaml in a data dir, for `kiln up` started as a process: the given folders mounted into every instance. */
export async function writeMountsConfig(dataDir: string, mounts: SandboxMount[]): Promise<void> {
  await writeFile(join(dataDir, 'kiln.yaml'), JSON.stringify({ sandbox: { mounts } }) + '\n')
}
