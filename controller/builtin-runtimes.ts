// The runtimes every Kiln knows. Stored like user runtimes on first start, so operators can resize
// their pools (`kiln pool set`) and the setting survives restarts.
import type { RuntimeResource } from '../core/types.js'

export const BUILTIN_RUNTIMES: RuntimeResource[] = [
  {
    metadata: { name: 'node', labels: { 'kiln.dev/builtin': 'true' } },
    spec: { protocol: 'kiln', language: 'node', command: ['${NODE}', '${KILN_DIST}/runtimes/node.js'], image: 'kiln/runtime-node:dev' },
  },
]
