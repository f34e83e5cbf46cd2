// kubectl against a test control plane: the same client an operator uses, so a manifest the tests
// accept is one `kubectl apply` accepts.
import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { kubectlPath } from './binaries.js'

export interface KubectlResult { code: number, stdout: string, stderr: string }

export function kubectl(kubeconfigPath: string, args: string[], opts: { input?: string, kubectlPath?: string, timeoutMs?: number } = {}): Promise<KubectlResult> {
  return new Promise(resolve => {
    // A discovery cache per control plane: the default one (~/.kube/cache, keyed by host:port) outlives a
    // test's control plane, and a later one on the same port would read its API versions (a v1-only
    // Function CRD) and ask for a version whose conversion needs a webhook that is not running.
    const cache = join(dirname(kubeconfigPath), 'kubectl-cache')
    const child = execFile(opts.kubectlPath ?? kubectlPath() ?? 'kubectl', [`--kubeconfig=${kubeconfigPath}`, `--cache-dir=${cache}`, ...args], {
      encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 60_000,
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : 1) : 0
      resolve({ code, stdout, stderr })
    })
    if (opts.input !== undefined) child.stdin!.end(opts.input)
  })
}

/** kubectl that throws with stderr when the command fails. */
export async function kubectlOk(kubeconfigPath: string, args: string[], opts: { input?: string, timeoutMs?: number } = {}): Promise<string> {
  const r = await kubectl(kubeconfigPath, args, opts)
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout
}
