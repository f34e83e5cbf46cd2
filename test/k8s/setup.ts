// What every Kubernetes test file does first: decide whether it can run here, and build the
// control-plane binaries when asked to.
//
// By default the tests read the binaries from the cache that test/k8s/controlplane/build.sh fills
// (~/.cache/kiln-k8s/<version>/bin, or $KILN_K8S_CACHE) and are skipped, with the reason, when they
// are not there. With KILN_K8S_BUILD=1 and Go installed, beforeAll builds them instead (19
// minutes measured on a cold Go cache with 2 cores; BUILD_TIMEOUT_MS allows 30).
import { existsSync } from 'node:fs'
import { isolatedNode, type SimNode } from './node-sim/nodes.js'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tier } from '../helpers/tier.js'
import { buildBinaries, testPlan } from './controlplane/binaries.js'

export const plan = testPlan()
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const DEPLOY = join(REPO, 'deploy')
export const BUILD_TIMEOUT_MS = 30 * 60_000
/** The runtime program the node simulator runs for the `kiln/runtime-node:dev` image. */
export const NODE_RUNTIME = join(REPO, 'dist', 'runtimes', 'node.js')
/** Two general nodes and one tainted isolated node, as the platform tests and scheduling tests use them. */
export const SIM_NODES: SimNode[] = [
  { name: 'general-a', labels: { 'kiln.dev/pool': 'general' } },
  { name: 'general-b', labels: { 'kiln.dev/pool': 'general' } },
  isolatedNode('isolated-a'),
]

/** `describe` options of a test file that needs the control plane: run, or skip saying why (test/helpers/tier.ts). */
export const K8S = tier('k8s', plan.run ? undefined : plan.reason)
/** The same for files that also run the Node runtime as pods. */
export const K8S_WITH_RUNTIME = tier('k8s', plan.run ? (existsSync(NODE_RUNTIME) ? undefined : `${NODE_RUNTIME} is not built (npm run build)`) : plan.reason)

export async function ensureBinaries(): Promise<void> {
  if (plan.build) await buildBinaries(line => process.stderr.write(line))
}
