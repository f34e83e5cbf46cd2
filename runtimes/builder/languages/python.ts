// Python: a .py file or a folder, requirements vendored with pip (../python.ts).
import { existsSync, readdirSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildPythonPackage } from '../python.js'
import type { LanguageBuilder } from './language.js'

export const python: LanguageBuilder = {
  name: 'python',
  prefix: 'python',
  aliases: [],
  /** A .py file, or a folder with no package.json and requirements.txt, or .py files and no JavaScript. */
  looksLike(source) {
    const st = statSync(source, { throwIfNoEntry: false })
    if (st?.isFile()) return source.endsWith('.py')
    if (!st?.isDirectory() || existsSync(join(source, 'package.json'))) return false
    const names = readdirSync(source)
    return names.includes('requirements.txt') || (names.some((n) => n.endsWith('.py')) && !names.some((n) => /\.[cm]?[jt]s$/.test(n)))
  },
  async build(input, work) {
    const py = await buildPythonPackage({ source: input.source, entrypoint: input.entrypoint, workDir: work })
    const entrySource = await readFile(join(py.dir, py.entrypoint.split(':')[0]), 'utf8').catch(() => '')
    return { dir: py.dir, files: py.files, entrypoint: py.entrypoint, entrySource, warnings: py.warnings }
  },
}
