// A file only its owner may read (tokens, keys, the CLI's contexts), written atomically: a temp file
// created 0600, then renamed over the old one, so a crash never leaves it half-written or readable.
import { chmod, rename, writeFile } from 'node:fs/promises'

export async function writeSecretFile(file: string, content: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, content, { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, file)
}
