// helm for the chart tests: the binary test/k8s/controlplane/build-helm.sh builds from the Go module and
// caches next to the control plane's, and the Gateway API CRDs it fetches beside it.
import { execFile } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { which } from './binaries.js'

export const GATEWAY_API_VERSION = process.env.KILN_GATEWAY_API_VERSION ?? 'v1.4.0'

export const HELM_VERSION = process.env.KILN_HELM_VERSION ?? 'v4.3.2'

/** helm: $KILN_HELM, the cache build-helm.sh fills, or PATH (deploy/render-kustomize.mjs looks the same way). */
export function helmPath(): string | undefined {
  if (process.env.KILN_HELM) return process.env.KILN_HELM
  const cached = process.env.KILN_HELM_CACHE ? join(process.env.KILN_HELM_CACHE, 'helm') : join(homedir(), '.cache', 'kiln-k8s', `helm-${HELM_VERSION}`, 'bin', 'helm')
  try { accessSync(cached, constants.X_OK); return cached } catch { return which('helm') }
}

/** The folder of the Gateway API's CRDs (HTTPRoute and the kinds it refers to), when fetched. */
export function gatewayApiCrds(): string | undefined {
  const dir = join(homedir(), '.cache', 'kiln-k8s', `gateway-api-${GATEWAY_API_VERSION}`)
  return existsSync(join(dir, 'gateway.networking.k8s.io_httproutes.yaml')) ? dir : undefined
}

export interface HelmResult { code: number, stdout: string, stderr: string }

export function helm(args: string[], opts: { kubeconfig?: string, input?: string, timeoutMs?: number } = {}): Promise<HelmResult> {
  const bin = helmPath()
  if (!bin) throw new Error('no helm: run test/k8s/controlplane/build-helm.sh')
  return new Promise((resolve) => {
    const child = execFile(bin, [...args, ...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : [])], {
      encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 300_000,
      // helm keeps caches and its repository config under these; a temp HOME-less run must not write the user's.
      env: { ...process.env, HELM_CACHE_HOME: join(homedir(), '.cache', 'kiln-k8s', 'helm-home', 'cache'), HELM_CONFIG_HOME: join(homedir(), '.cache', 'kiln-k8s', 'helm-home', 'config'), HELM_DATA_HOME: join(homedir(), '.cache', 'kiln-k8s', 'helm-home', 'data') },
    }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : 1) : 0
      resolve({ code, stdout, stderr })
    })
    if (opts.input !== undefined) child.stdin!.end(opts.input)
  })
}

/** Whether the chart tests can run: helm and the Gateway API CRDs present (the control plane is setup.ts's plan). */
export function helmPlan(): { run: boolean, reason: string } {
  if (!helmPath()) return { run: false, reason: `no helm: run test/k8s/controlplane/build-helm.sh (builds helm ${HELM_VERSION} from its Go module)` }
  if (!gatewayApiCrds()) return { run: false, reason: `no Gateway API ${GATEWAY_API_VERSION} CRDs: run test/k8s/controlplane/build-helm.sh` }
  return { run: true, reason: '' }
}
