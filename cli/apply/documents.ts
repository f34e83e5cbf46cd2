// Reads what `-f` names: a YAML or JSON file (several documents separated by `---`), a folder of them
// (`-R`: its subfolders too), or `-` for standard input. Each document keeps where it came from, so
// every message names `file` (and `#N` for the Nth document of a file).
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { CliError, EXIT } from '../client.js'

export interface Doc {
  /** Absolute path of the file (or `-`). */
  file: string
  /** The folder relative paths in it are read from. */
  dir: string
  /** `file` or `file#2`, for messages. */
  where: string
  doc: Record<string, unknown>
}

const SPEC_FILE = /\.(ya?ml|json)$/i
const SKIPPED_DIRS = new Set(['node_modules', '.git', '__pycache__', '.venv', 'venv'])

function filesIn(dir: string, recursive: boolean): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.')) continue
    const p = join(dir, e.name)
    if (e.isDirectory()) { if (recursive && !SKIPPED_DIRS.has(e.name)) out.push(...filesIn(p, true)) } else if (SPEC_FILE.test(e.name)) out.push(p)
  }
  return out
}

export function parseDocs(text: string, file: string, dir: string): Doc[] {
  const docs = parseAllDocuments(text)
  const list = Array.isArray(docs) ? docs : [docs]
  const out: Doc[] = []
  list.forEach((d, i) => {
    const where = list.length > 1 ? `${file}#${i + 1}` : file
    if (d.errors.length) throw new CliError(`${where}: not valid YAML: ${d.errors[0].message}`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
    const v = d.toJS() as unknown
    if (v === null || v === undefined) return
    if (typeof v !== 'object' || Array.isArray(v)) throw new CliError(`${where}: a document is a map (apiVersion, kind, metadata, spec)`, EXIT.USER, undefined, 'KILN_ERR_VALIDATION')
    const o = v as Record<string, unknown>
    // A `kind: List` (what `kiln get -o yaml` and kubectl print) holds its documents in `items`.
    if (o.kind === 'List' && Array.isArray(o.items)) {
      o.items.forEach((item, j) => { if (item && typeof item === 'object') out.push({ file, dir, where: `${where} items[${j}]`, doc: item as Record<string, unknown> }) })
    } else out.push({ file, dir, where, doc: o })
  })
  return out
}

/** Every document under the paths given with -f, in order (folders sorted by file name). */
export function readDocs(paths: string[], recursive: boolean, stdin: () => string = () => readFileSync(0, 'utf8')): Doc[] {
  const out: Doc[] = []
  for (const p of paths) {
    if (p === '-') { out.push(...parseDocs(stdin(), '-', process.cwd())); continue }
    const abs = resolve(p)
    let st
    try { st = statSync(abs) } catch { throw new CliError(`-f ${p}: no such file or folder`, EXIT.USER) }
    const files = st.isDirectory() ? filesIn(abs, recursive) : [abs]
    if (st.isDirectory() && files.length === 0) throw new CliError(`-f ${p}: no .yaml, .yml or .json files in the folder${recursive ? '' : ' (-R reads its subfolders)'}`, EXIT.USER)
    for (const f of files) out.push(...parseDocs(readFileSync(f, 'utf8'), f, join(f, '..')))
  }
  return out
}
