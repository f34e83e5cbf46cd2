// The sandbox's report of what confines instances here (controller/read-models.ts Protections).
// Until the sandbox is part of the platform this is a stub that reports every protection present, named
// as such: the assembly takes its report in this one place.
import type { Protections } from '../controller/read-models.js'

export const ALL_PROTECTIONS_PRESENT_STUB: Protections = { missing: () => [] }
