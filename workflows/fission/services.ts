// The platform's services for internal functions, registered for the invoker the engine runs with:
// the engine's seams stay as they are, and an engine without registration gets the safe defaults
// (the `http` function may reach no host).
import { HostAllowlist } from '../../core/allowlist.js'
import type { Invoker } from '../invoker.js'
import type { FissionServices } from './call.js'

const DEFAULTS: FissionServices = { allowlist: new HostAllowlist([]), maxResponseBytes: 16 * 1024 * 1024, httpTimeoutMs: 30_000 }
const registered = new WeakMap<Invoker, FissionServices>()

export function registerFissionServices(invoker: Invoker, services: Partial<FissionServices>): void {
  registered.set(invoker, { ...DEFAULTS, ...services })
}

export function fissionServices(invoker: Invoker): FissionServices {
  return registered.get(invoker) ?? DEFAULTS
}
