// Where the control-plane binaries are, and whether this machine can run the Kubernetes tests at all.
// The binaries are built by build.sh from the Go module k8s.io/kubernetes and cached per version.
import { execFileSync, spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const K8S_VERSION = process.env.KILN_K8S_VERSION ?? 'v1.36.3'
export const BUILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'build.sh')

export interface Binaries {
  kubeApiserver: string
  kubeControllerManager: string
  kubeScheduler: string
  etcd: string
  kubectl: string
  openssl: string
}

export function cacheDir(): string {
  return process.env.KILN_K8S_CACHE ?? join(homedir(), '.cache', 'kiln-k8s', K8S_VERSION, 'bin')
}

function executable(path: string): boolean {
  try { accessSync(path, constants.X_OK); return true } catch { return false }
}

/** The first executable named `name` on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && executable(join(dir, name))) return join(dir, name)
  }
  return undefined
}

export type Availability = { ok: true, binaries: Binaries } | { ok: false, reason: string }

/** kubectl as build.sh caches it (the control plane's own version), else the one on PATH. */
export function kubectlPath(bin = cacheDir()): string | undefined {
  const built = join(bin, 'kubectl')
  return executable(built) ? built : which('kubectl')
}

/** How to get what is missing: `npm run test:k8s` installs the packages and builds the binaries. */
function howToBuild(): string {
  return which('go')
    ? 'run `npm run test:k8s` (builds the control plane: about 20 minutes on a cold Go cache with 2 cores, then cached)'
    : 'Go is not installed, so the control plane cannot be built here (install Go 1.26+, then `npm run test:k8s`)'
}

/** Looks for every program a test control plane needs; says which one is missing and how to get it. */
export function locateBinaries(bin = cacheDir()): Availability {
  const etcd = process.env.KILN_ETCD ?? which('etcd')
  if (!etcd) return { ok: false, reason: 'no etcd on PATH (Debian package etcd-server; `npm run test:k8s` installs it as root)' }
  const openssl = which('openssl')
  if (!openssl) return { ok: false, reason: 'no openssl on PATH (Debian package openssl)' }
  const kubectl = kubectlPath(bin)
  if (!kubectl) return { ok: false, reason: `no kubectl in ${bin} or on PATH: ${howToBuild()}` }
  const built = {
    kubeApiserver: join(bin, 'kube-apiserver'),
    kubeControllerManager: join(bin, 'kube-controller-manager'),
    kubeScheduler: join(bin, 'kube-scheduler'),
  }
  const missing = Object.values(built).filter(p => !executable(p))
  if (missing.length > 0) return { ok: false, reason: `no ${K8S_VERSION} control-plane binaries in ${bin}: ${howToBuild()}` }
  return { ok: true, binaries: { ...built, etcd, kubectl, openssl } }
}

/**
 * What a test file should do: run with cached binaries, build them first (KILN_K8S_BUILD=1 and Go
 * present), or skip with the reason.
 */
export function testPlan(): { run: boolean, build: boolean, reason: string } {
  const found = locateBinaries()
  if (found.ok) return { run: true, build: false, reason: '' }
  if (process.env.KILN_K8S_BUILD === '1' && which('go') && which('etcd') && which('openssl')) {
    return { run: true, build: true, reason: '' }
  }
  return { run: false, build: false, reason: found.reason }
}

/** Runs build.sh (slow on a cold cache); resolves when the binaries are in the cache. */
export function buildBinaries(log: (line: string) => void = () => {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] })
    let tail = ''
    const onData = (chunk: Buffer) => { const s = chunk.toString(); tail = (tail + s).slice(-4000); log(s) }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('exit', code => code === 0 ? resolve() : reject(new Error(`build.sh exited ${code}:\n${tail}`)))
  })
}

/** The version a binary reports, e.g. "Kubernetes v1.36.3". */
export function binaryVersion(path: string): string {
  return execFileSync(path, ['--version'], { encoding: 'utf8' }).trim()
}
