// requirements.txt is read by pip, which takes far more than package names from it: options that read
// other files (`-r /etc/shadow`, `-c`), change where packages come from (`--index-url`,
// `--extra-index-url`, `--find-links`, `--trusted-host`), install local folders or URLs (`-e .`,
// `./pkg`, `name @ https://...`, `git+https://...`) and expand `${VARIABLES}` from the builder's
// environment. Only requirement specifiers are accepted here (PEP 508 names, extras, version
// specifiers, environment markers), each optionally pinned with `--hash`; any other line fails the
// build with its line number, before pip runs.
import { BuildError, type BuildMessage } from './errors.js'

const NAME = '[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?'
const VERSION_SPEC = '(?:~=|===|==|!=|<=|>=|<|>)\\s*[A-Za-z0-9*+!._-]+'
const SPECS = `${VERSION_SPEC}(?:\\s*,\\s*${VERSION_SPEC})*`
const REQUIREMENT = new RegExp(`^(${NAME})\\s*(?:\\[\\s*${NAME}(?:\\s*,\\s*${NAME})*\\s*\\])?\\s*(?:\\(\\s*${SPECS}\\s*\\)|${SPECS})?$`)
// Environment markers: names, quoted strings, comparison operators, and/or/in/not, parentheses.
const MARKER = /^(?:\s|[A-Za-z_]+|'[^'$@\\]*'|"[^"$@\\]*"|===|==|!=|<=|>=|~=|<|>|\(|\))+$/
const HASH = /(?:^|\s)--hash(?:=|\s+)(?:sha256|sha384|sha512):[0-9a-fA-F]+(?=\s|$)/g
// pip reads a name that ends like an archive or wheel as a local file.
const ARCHIVE = /\.(?:whl|zip|tar|tgz|tar\.gz|tar\.bz2|tbz|tar\.xz|txz|egg)$/i

/** What is wrong with one logical line (continuations joined, comment removed), or undefined. */
export function requirementProblem(line: string): string | undefined {
  const text = line.replace(HASH, ' ').trim()
  if (text === '') return line.trim() === '' ? undefined : '--hash without a requirement'
  const option = /(?:^|\s)(-[^\s=]*)/.exec(text)
  if (option) return `pip option "${option[1]}" is not allowed: only requirement specifiers (name, extras, versions, markers)`
  if (text.includes('$')) return 'environment variables are not expanded here'
  if (/:\/\/|@/.test(text)) return 'URLs and direct references are not allowed: name the package and its version'
  const semi = text.indexOf(';')
  const req = (semi < 0 ? text : text.slice(0, semi)).trim()
  const marker = semi < 0 ? undefined : text.slice(semi + 1).trim()
  if (req.includes('/') || req.startsWith('.') || ARCHIVE.test(req.split(/[\s[(<>=!~;]/)[0])) return 'local paths and archives are not allowed: name the package and its version'
  if (!REQUIREMENT.test(req)) return `"${req}" is not a requirement specifier (e.g. requests==2.32.3 or flask[async]>=3)`
  if (marker !== undefined && (marker === '' || !MARKER.test(marker))) return `"${marker}" is not an environment marker`
  return undefined
}

/** Every problem of a requirements.txt, with the line (1-based) each logical line starts on. */
export function checkRequirements(text: string, file = 'requirements.txt'): BuildMessage[] {
  const out: BuildMessage[] = []
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let line = lines[i]
    // pip joins a line ending in a backslash with the next one
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i]
    // pip's comments: `#` at the start of a line or after whitespace
    line = line.replace(/(^|\s)#.*$/, '')
    if (/[\x00-\x08\x0b-\x1f\x7f]/.test(line)) {
      out.push({ file, line: start + 1, column: 1, text: 'control characters are not allowed' })
      continue
    }
    const problem = requirementProblem(line)
    if (problem) out.push({ file, line: start + 1, column: 1, text: problem })
  }
  return out
}

/** Throws KILN_ERR_BUILD_FAILED listing each line pip must not be given. */
export function assertSafeRequirements(text: string, file = 'requirements.txt'): void {
  const problems = checkRequirements(text, file)
  if (problems.length) throw new BuildError(problems, `${file} holds lines pip must not be given`)
}
