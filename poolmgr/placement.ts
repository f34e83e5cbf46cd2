// Which node an instance goes to: only nodes whose taints it tolerates and whose labels match its
// nodeSelector; among those, the one with the fewest instances (spreading).
import type { NodeConfig } from '../core/config.js'

export interface Toleration { key: string; value?: string; effect?: string }
export interface PlacementRequest { nodeSelector?: Record<string, string>; tolerations?: Toleration[] }

export function tolerates(node: NodeConfig, tolerations: Toleration[] = []): boolean {
  return (node.taints ?? []).every((t) =>
    t.effect === 'PreferNoSchedule' ||
    tolerations.some((tol) => tol.key === t.key && (tol.value === undefined || tol.value === t.value) && (!tol.effect || tol.effect === t.effect)))
}

export function matches(node: NodeConfig, selector: Record<string, string> = {}): boolean {
  return Object.entries(selector).every(([k, v]) => node.labels?.[k] === v)
}

export function placementKey(req: PlacementRequest): string {
  const sel = Object.entries(req.nodeSelector ?? {}).sort().map(([k, v]) => `${k}=${v}`).join(',')
  const tol = (req.tolerations ?? []).map((t) => `${t.key}=${t.value ?? ''}:${t.effect ?? ''}`).sort().join(',')
  return sel || tol ? `${sel}|${tol}` : 'default'
}

export function chooseNode(nodes: NodeConfig[], req: PlacementRequest, load: (node: string) => number): NodeConfig | undefined {
  let best: NodeConfig | undefined
  let bestLoad = Infinity
  for (const n of nodes) {
    if (!tolerates(n, req.tolerations) || !matches(n, req.nodeSelector)) continue
    const l = load(n.name)
    if (l < bestLoad) { best = n; bestLoad = l }
  }
  return best
}
