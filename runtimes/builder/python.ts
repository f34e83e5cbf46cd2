// The Python builder: copies a .py file or a folder into a temp package folder and, when the folder has
// requirements.txt, vendors the requirements into it with pip (--target), so the runtime imports them at
// specialization with no install step and no network. Packing the folder is index.ts's job.
import { spawn } from 'node:child_process'
import { cp, lstat, mkdtemp, readFile, readdir, realpath, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, relative, sep } from 'node:path'
import { BuildError } from './errors.js'
import { assertSafeRequirements } from './requirements.js'

export interface PythonBuildInput {
  /** a .py file, or a folder */
  source: string
  /** 'file.py', 'file.py:func', or Lambda/Fission style 'file.func'; default: main.py / handler.py / ... */
  entrypoint?: string
  /** the interpreter that resolves wheels; it should match the runtime's (default $KILN_PYTHON or python3) */
  python?: string
  /** where the temp package folder is created (default the OS temp dir) */
  workDir?: string
  /** pip's deadline (default 300 s) */
  pipTimeoutMs?: number
}

export interface PythonBuildResult {
  /** temp package folder with the code and the vendored dependencies; the caller removes it */
  dir: string
  /** canonical 'file.py' or 'file.py:func', relative to `dir` */
  entrypoint: string
  /** every file in `dir`, relative, '/'-separated, sorted */
  files: string[]
  warnings: string[]
}

const DEFAULT_ENTRIES = ['main.py', 'handler.py', 'index.py', 'app.py', 'lambda_function.py']
const SKIPPED = new Set(['__pycache__', '.git', '.venv', 'venv', 'node_modules', '.mypy_cache', '.pytest_cache'])

export async function buildPythonPackage(input: PythonBuildInput): Promise<PythonBuildResult> {
  const python = input.python ?? process.env.KILN_PYTHON ?? 'python3'
  const source = await stat(input.source).catch(() => null)
  if (!source) fail(`${input.source}: no such file or folder`)
  const dir = await mkdtemp(join(input.workDir ?? tmpdir(), 'kiln-py-'))
  try {
    const warnings: string[] = []
    let entrypoint: string
    if (source.isFile()) {
      if (!input.source.endsWith('.py')) fail(`${input.source}: a Python function is a .py file or a folder`)
      await cp(input.source, join(dir, basename(input.source)), { dereference: true })
      const func = singleFileFunc(basename(input.source), input.entrypoint)
      entrypoint = func ? `${basename(input.source)}:${func}` : basename(input.source)
    } else {
      const root = await realpath(input.source)
      await cp(input.source, dir, { recursive: true, dereference: true, filter: (src) => keep(src, root) })
      entrypoint = await resolveEntry(dir, input.entrypoint)
      if (await exists(join(dir, 'requirements.txt'))) {
        warnings.push(...(await pipInstall(python, dir, input.pipTimeoutMs ?? 300_000)))
      }
    }
    const files = await listFiles(dir)
    const native = files.filter((f) => /\.(so|pyd)$/.test(f))
    if (native.length) {
      warnings.push(`${native.length} native extension file(s) vendored (e.g. ${native[0]}): the runtime's Python ` +
        `version and platform must match the builder's (${python})`)
    }
    return { dir, entrypoint, files, warnings }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

/**
 * Skips caches, and refuses a symbolic link unless it leads to a file inside the function's folder:
 * copying it would take a file of the build machine into the package (and packing would chmod it).
 */
async function keep(src: string, root: string): Promise<boolean> {
  if (SKIPPED.has(basename(src))) return false
  if (!(await lstat(src)).isSymbolicLink()) return true
  const real = await realpath(src).catch(() => undefined)
  const st = real === undefined ? undefined : await stat(real)
  if (!real || !real.startsWith(root + sep) || !st?.isFile()) {
    fail(`${relative(root, src)}: a symbolic link may only lead to a file inside the function's folder`)
  }
  return true
}

function fail(text: string, summary = 'cannot build the Python function'): never {
  throw new BuildError([{ file: '', line: 0, column: 0, text }], summary)
}

/**
 * The function a single-file package's entrypoint names: `file.py:func`, or as Fission writes it for a
 * file (`func`, or `module.func` whose module part is the file itself, which Fission ignores too).
 */
function singleFileFunc(file: string, entry: string | undefined): string | undefined {
  const e = (entry ?? '').trim()
  if (!e || e === file || e === file.replace(/\.py$/, '')) return undefined
  if (e.includes(':')) return splitEntry(e).func
  const last = e.slice(e.lastIndexOf('.') + 1)
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(last) ? last : undefined
}

function splitEntry(entry: string): { file: string; func?: string } {
  const [file, func] = entry.split(':', 2)
  return { file: file.trim(), func: func?.trim() || undefined }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null
}

async function resolveEntry(dir: string, given: string | undefined): Promise<string> {
  const { file, func } = splitEntry(given ?? '')
  const withFunc = (f: string, fn = func) => (fn ? `${f}:${fn}` : f)
  if (!file) {
    for (const name of DEFAULT_ENTRIES) if (await exists(join(dir, name))) return withFunc(name)
    fail(`no entrypoint given and none of ${DEFAULT_ENTRIES.join(', ')} in the folder`)
  }
  if (file.endsWith('.py') && (await exists(join(dir, file)))) return withFunc(file)
  if (!file.endsWith('.py') && (await exists(join(dir, `${file}.py`)))) return withFunc(`${file}.py`)
  if (!func && file.includes('.')) {
    // Lambda / Fission style: "lambda_function.lambda_handler" or "pkg.module.main"
    const at = file.lastIndexOf('.')
    const module = `${file.slice(0, at).replaceAll('.', '/')}.py`
    if (await exists(join(dir, module))) return `${module}:${file.slice(at + 1)}`
  }
  // Fission style: a bare function name is that function of main.py (Fission's module when none is named).
  if (!func && /^[A-Za-z_][A-Za-z0-9_]*$/.test(file) && (await exists(join(dir, 'main.py')))) return `main.py:${file}`
  fail(`entrypoint ${file}: no such file in the folder${/^[A-Za-z_][A-Za-z0-9_]*$/.test(file) ? ' (and no main.py to take it as a function of)' : ''}`)
}

async function pipInstall(python: string, dir: string, timeoutMs: number): Promise<string[]> {
  assertSafeRequirements(await readFile(join(dir, 'requirements.txt'), 'utf8'))
  // --no-compile: .pyc files embed build-time stamps, so the same requirements would give another sha256
  // at every build (and `kiln apply` of an unchanged folder would roll the function); the runtime compiles.
  const args = ['-m', 'pip', 'install', '-r', 'requirements.txt', '--target', dir, '--no-cache-dir',
    '--disable-pip-version-check', '--quiet', '--no-compile']
  const { code, stderr, stdout } = await run(python, args, dir, timeoutMs)
  if (code !== 0) {
    const text = (stderr.trim() || stdout.trim() || `pip exited with ${code}`).split('\n')
      .filter((l) => !/Running pip as the 'root' user/.test(l)).join('\n')
    fail(text, 'pip install -r requirements.txt failed')
  }
  // pip's warnings that matter to the user (e.g. a vendored folder that clashes with their own code)
  return stderr.split('\n').map((l) => l.trim())
    .filter((l) => l.startsWith('WARNING:') && !/Running pip as the 'root' user/.test(l))
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number):
  Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PIP_NO_INPUT: '1' },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => {
      stderr += `\npip did not finish within ${timeoutMs} ms`
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(new BuildError([{ file: '', line: 0, column: 0, text: `${cmd}: ${err.message}` }], 'cannot run pip'))
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else out.push(relative(root, p).split(sep).join('/'))
    }
  }
  await walk(root)
  return out.sort()
}
