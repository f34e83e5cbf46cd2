// What the data plane asks of user routes: which HTTP trigger a request matches. The route table that
// answers it is the HTTP trigger source (triggers/http/route-table.ts), handed in by platform/.
import type { HTTPTriggerResource } from '../core/types.js'

export interface RouteMatch { trigger: HTTPTriggerResource; params: Record<string, string | undefined> }

export interface RouteMatcher {
  match(method: string, url: string, host: string | undefined): RouteMatch | undefined
}
