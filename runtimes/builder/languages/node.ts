// Node.js: the entry and everything it imports bundled by esbuild into one file (../node.ts), after an
// `npm install` in a copy when the source has dependencies but no node_modules (../npm.ts).
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { listFiles } from '../archive.js'
import { findEntry, relativeTo } from '../entry.js'
import { bundleNode } from '../node.js'
import { installCopy, needsInstall } from '../npm.js'
import type { LanguageBuilder } from './language.js'

export const node: LanguageBuilder = {
  name: 'node',
  prefix: 'node',
  aliases: ['javascript', 'typescript'],
  // The default: whatever no other language claims.
  looksLike: () => true,
  async build(input, work) {
    let entry = findEntry(input.source, input.entrypoint)
    const warnings: string[] = []
    const entrySource = await readFile(entry.file, 'utf8').catch(() => '')
    if (needsInstall(entry.root)) {
      const copy = join(work, 'src')
      await installCopy(entry.root, copy)
      warnings.push('dependencies installed with npm install --omit=dev (no node_modules in the source)')
      entry = { ...entry, root: copy, file: join(copy, relativeTo(entry.root, entry.file)) }
    }
    const out = join(work, 'pkg')
    await mkdir(out)
    const bundled = await bundleNode(entry.file, entry.root, out)
    warnings.push(...bundled.warnings)
    return {
      dir: out, files: await listFiles(out), entrySource, warnings,
      entrypoint: entry.exportName ? `${bundled.file}:${entry.exportName}` : bundled.file,
    }
  },
}
