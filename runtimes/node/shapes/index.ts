// The calling conventions by name (`function.shape` in /v1/specialize).
import { kiln } from './kiln.js'
import { lambda } from './lambda.js'
import { openfaas } from './openfaas.js'
import type { Shape } from './shape.js'

export const SHAPES: Record<string, Shape & { rawBody?: boolean }> = { kiln, fission: kiln, openfaas, lambda }
