// k6 version of `npm run bench:coldstart`, for users who run k6 against a Kiln (embedded or cluster).
//   k6 run -e KILN_URL=http://127.0.0.1:8080 -e KILN_TOKEN=$(cat .kiln/admin.token) -e SHA256=<package sha256> -e ENTRYPOINT=index.mjs bench/k6/coldstart.js
// The package must already be uploaded (`kiln fn deploy` once, then `kiln fn get NAME -o json` shows it).
// Scenarios, one after another: `pool` (first request to a function specialized from the generic
// pool), `warm` (first request to a function deployed with strategy warm), `repeat` (warm repeats),
// `burst` (first requests to 50 functions, 4 concurrent each).
import http from 'k6/http'
import { check, sleep } from 'k6'
import { Trend, Counter } from 'k6/metrics'

const URL = __ENV.KILN_URL || 'http://127.0.0.1:8080'
const TOKEN = __ENV.KILN_TOKEN
const SHA = __ENV.SHA256
const ENTRY = __ENV.ENTRYPOINT || 'index.mjs'
const N = Number(__ENV.SAMPLES || 20)
const RUN = String(Date.now() % 1e6)

export const pool = new Trend('kiln_first_request_pool', true)
export const warm = new Trend('kiln_first_request_warm', true)
export const repeat = new Trend('kiln_warm_repeat', true)
export const burst = new Trend('kiln_burst_first_request', true)
export const errors = new Counter('kiln_errors')

export const options = {
  scenarios: {
    pool: { executor: 'shared-iterations', vus: 1, iterations: N, exec: 'poolFirst', startTime: '0s', maxDuration: '2m' },
    warm: { executor: 'shared-iterations', vus: 1, iterations: N, exec: 'warmFirst', startTime: '0s', maxDuration: '2m' },
    repeat: { executor: 'constant-vus', vus: 1, duration: '10s', exec: 'warmRepeat', startTime: '0s' },
    burst: { executor: 'per-vu-iterations', vus: 200, iterations: 1, exec: 'burstFirst', startTime: '0s', maxDuration: '2m' },
  },
}
// Run scenarios one after another rather than at once.
let at = 0
for (const [name, s] of Object.entries(options.scenarios)) {
  s.startTime = `${at}s`
  at += name === 'repeat' ? 12 : 60
}

function deploy(name, spec) {
  const body = JSON.stringify({ metadata: { name }, spec: Object.assign({ runtime: 'node', package: { sha256: SHA }, entrypoint: ENTRY }, spec) })
  const r = http.put(`${URL}/v1/functions/${name}`, body, { headers: { 'content-type': 'application/json', ...(TOKEN ? { authorization: `Bearer ${TOKEN}` } : {}) } })
  if (r.status >= 300) throw new Error(`deploy ${name}: ${r.status} ${r.body}`)
}

export function setup() {
  if (!SHA) throw new Error('set -e SHA256=<uploaded package sha256>')
  for (let i = 0; i < 50; i++) deploy(`k6-burst-${RUN}-${i}`, {})
  deploy(`k6-repeat-${RUN}`, {})
  http.get(`${URL}/fn/k6-repeat-${RUN}`)
}

export function poolFirst() {
  const name = `k6-pool-${RUN}-${__ITER}`
  deploy(name, {})
  sleep(0.5) // let the generic pool refill between samples
  const r = http.get(`${URL}/fn/${name}`)
  if (!check(r, { 'status 200': (x) => x.status === 200 })) errors.add(1)
  pool.add(r.timings.duration)
}

export function warmFirst() {
  const name = `k6-warm-${RUN}-${__ITER}`
  sleep(0.5) // as in bench/coldstart.ts: the pool has refilled from the previous sample before the deploy
  deploy(name, { strategy: 'warm', minWarm: 1 })
  const r = http.get(`${URL}/fn/${name}`)
  if (!check(r, { 'status 200': (x) => x.status === 200 })) errors.add(1)
  warm.add(r.timings.duration)
}

export function warmRepeat() {
  const r = http.get(`${URL}/fn/k6-repeat-${RUN}`)
  if (!check(r, { 'status 200': (x) => x.status === 200 })) errors.add(1)
  repeat.add(r.timings.duration)
}

export function burstFirst() {
  const r = http.get(`${URL}/fn/k6-burst-${RUN}-${__VU % 50}`)
  if (!check(r, { 'status 200': (x) => x.status === 200 })) errors.add(1)
  burst.add(r.timings.duration)
}
