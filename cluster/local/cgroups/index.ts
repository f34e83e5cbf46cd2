// Kiln's cgroup driver for the local cluster backend: limit and measure runtime instances.
// Usage and caller duties: docs/cgroups.md.

export { detectCgroups, type DetectOptions } from './detect.js'
export { parseQuantity } from './quantity.js'
export { ENTER_FAILED_EXIT } from './wrapper.js'
export type { CgroupDriver, CgroupGroup, CgroupLimits, CgroupLogger, CgroupMode, CgroupSample } from './types.js'
