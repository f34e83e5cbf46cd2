// A function's environment variables (`spec.env`): POSIX names, bounded sizes, and none of the names
// the platform or a runtime sets or reads before any function code runs (docs/operators.md lists them
// with the reasons). The runtime applies `env` to its own process at specialization and it is sent in
// every specialize request, so an unbounded or hostile env would break or subvert every instance.
import { KilnError } from './errors.js'

export const ENV_LIMITS = {
  /** variables per function */
  maxCount: 128,
  /** bytes of one name */
  maxNameBytes: 128,
  /** bytes of one value (UTF-8) */
  maxValueBytes: 32 * 1024,
  /** bytes of every name and value together */
  maxTotalBytes: 64 * 1024,
} as const

const POSIX_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Names set by the platform for the runtime, or read by a process, a loader or a shell at start. */
const RESERVED = new Set([
  'PORT', 'HOST', // where the runtime listens (set by the platform)
  'PATH', 'HOME', 'TMPDIR', // set by the platform (and by the sandbox: a private /tmp)
  'GLIBC_TUNABLES', // read by the C library at exec (CVE-2023-4911)
  'BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'IFS', // run or change code in any shell a wrapper starts
  'OPENSSL_CONF', 'OPENSSL_ENGINES', 'OPENSSL_MODULES', // load shared libraries into the runtime
])

/** Prefixes reserved as a whole, with the few harmless names under them a function may still set. */
const RESERVED_PREFIXES: { prefix: string; allowed: Set<string> }[] = [
  { prefix: 'KILN_', allowed: new Set() }, // the platform's and the runtimes' own settings
  { prefix: 'LD_', allowed: new Set() }, // the dynamic loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT
  { prefix: 'NODE_', allowed: new Set(['NODE_ENV', 'NODE_DEBUG', 'NODE_NO_WARNINGS', 'NODE_TLS_REJECT_UNAUTHORIZED']) }, // NODE_OPTIONS (--require, --inspect), NODE_PATH, ...
  { prefix: 'PYTHON', allowed: new Set(['PYTHONUNBUFFERED', 'PYTHONIOENCODING', 'PYTHONDONTWRITEBYTECODE', 'PYTHONHASHSEED', 'PYTHONUTF8']) }, // PYTHONPATH, PYTHONHOME, PYTHONSTARTUP, PYTHONWARNINGS (imports), ...
  { prefix: 'PYENV_', allowed: new Set() }, // chooses the interpreter behind the runtime's python3
]

/** Why `name` may not be set by a function, or undefined when it may. */
export function reservedEnvName(name: string): string | undefined {
  if (RESERVED.has(name)) return 'is set or read by the platform or the runtime before the function runs'
  for (const r of RESERVED_PREFIXES) {
    if (name.startsWith(r.prefix) && !r.allowed.has(name)) return `${r.prefix}* names are reserved for the platform and the runtimes`
  }
  return undefined
}

function invalid(field: string, why: string): KilnError {
  return new KilnError('KILN_ERR_VALIDATION', `Function: spec.env${field}: ${why}`)
}

/** Throws KILN_ERR_VALIDATION naming the first variable that breaks a rule. */
export function checkFunctionEnv(env: Record<string, unknown> | undefined): void {
  if (env === undefined) return
  const names = Object.keys(env)
  if (names.length > ENV_LIMITS.maxCount) throw invalid('', `more than ${ENV_LIMITS.maxCount} variables`)
  let total = 0
  for (const name of names) {
    const field = POSIX_NAME.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`
    if (!POSIX_NAME.test(name)) throw invalid(field, 'a name is letters, digits and _, not starting with a digit')
    if (name.length > ENV_LIMITS.maxNameBytes) throw invalid(field, `a name is at most ${ENV_LIMITS.maxNameBytes} bytes`)
    const why = reservedEnvName(name)
    if (why) throw invalid(field, `reserved: ${why}`)
    const value = env[name]
    if (typeof value !== 'string') throw invalid(field, 'must be a string')
    if (value.includes('\0')) throw invalid(field, 'a value cannot hold a NUL character')
    const bytes = Buffer.byteLength(value)
    if (bytes > ENV_LIMITS.maxValueBytes) throw invalid(field, `a value is at most ${ENV_LIMITS.maxValueBytes} bytes`)
    total += name.length + bytes
  }
  if (total > ENV_LIMITS.maxTotalBytes) throw invalid('', `names and values are over ${ENV_LIMITS.maxTotalBytes} bytes together`)
}

/** `spec.secretEnv[].env` becomes an environment variable too: the same reserved names apply. */
export function checkSecretEnvNames(list: { env: string }[] | undefined): void {
  for (const [i, e] of (list ?? []).entries()) {
    const why = reservedEnvName(e.env)
    if (why) throw new KilnError('KILN_ERR_VALIDATION', `Function: spec.secretEnv[${i}].env: ${e.env} is reserved: ${why}`)
  }
}
