// Turns a loader error into one line a developer can act on: `file:line:col: Name: message`.
import { basename, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

function shorten(file: string, root: string): string {
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file.replace(/\?kiln=\d+/, ''))
    } catch {
      /* keep as is */
    }
  }
  file = file.replace(/\?kiln=\d+/, '')
  if (file === root) return basename(file)
  return root && (file === root || file.startsWith(root + sep)) ? relative(root, file) || file : file
}

/** `root` is the package directory; paths under it are shown relative to it. */
export function describeLoadError(err: unknown, root: string): string {
  if (!(err instanceof Error)) return String(err)
  const head = `${err.name}: ${err.message}`
  const stack = err.stack ?? ''
  // A SyntaxError's stack starts with `file:line` (then the source line and a caret).
  const syntax = /^((?:file:\/\/)?[^\n]+?):(\d+)\n/.exec(stack)
  if (syntax !== null && err instanceof SyntaxError) return `${shorten(syntax[1], root)}:${syntax[2]}: ${head}`
  if (syntax !== null && !stack.startsWith(err.name)) return `${shorten(syntax[1], root)}:${syntax[2]}: ${head}`
  // Otherwise the first frame inside the package (a throw at import time).
  const frames = stack.matchAll(/\(?((?:file:\/\/)?\/[^\s()]+?):(\d+):(\d+)\)?$/gm)
  for (const f of frames) {
    const file = f[1].startsWith('file://') ? fileURLToPath(f[1].replace(/\?kiln=\d+/, '')) : f[1]
    if (!root || file.startsWith(root)) return `${shorten(file, root)}:${f[2]}:${f[3]}: ${head}`
  }
  return head
}

/**
 * Node does not put the location of an ESM syntax error in the error it gives `import()`; `node --check`
 * prints it. Only run on the load-failure path. Resolves to `file:line` or undefined.
 */
export function locateSyntaxError(file: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    import('node:child_process').then(({ execFile }) => {
      execFile(process.execPath, ['--check', file], { timeout: 10_000, env: {} }, (err, _out, stderr) => {
        const m = err ? /^(.+):(\d+)\n/.exec(String(stderr)) : null
        resolve(m === null ? undefined : `${m[1]}:${m[2]}`)
      })
    }, () => resolve(undefined))
  })
}
