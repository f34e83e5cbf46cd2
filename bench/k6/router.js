// k6 version of `npm run bench:router` for users who run k6: router throughput at 1, 32, 256 and 1000
// virtual users (one keep-alive connection each), one scenario after another.
//
//   k6 run -e KILN_URL=http://127.0.0.1:8080 bench/k6/router.js                  # /fn/hello
//   k6 run -e KILN_URL=http://127.0.0.1:8080 -e KILN_PATH=/greet/ada bench/k6/router.js   # a user route
//   k6 run -e KILN_URL=http://127.0.0.1:9000 -e KILN_PATH=/ bench/k6/router.js     # a baseline (nginx, the runtime, ...)
//
// Set-up once: `kiln fn deploy hello --runtime node --code bench/lib/functions/hello.mjs --concurrency 10000`
// and `kiln route add --method GET --path /greet/:name --function hello`.
// Per-scenario figures are tagged `conns:<n>` in the summary (http_reqs, http_req_duration p(50)/p(99),
// http_req_failed). Reported, never asserted: there are no thresholds.
import http from 'k6/http'
import { check } from 'k6'

const BASE = __ENV.KILN_URL || 'http://127.0.0.1:8080'
const PATH = __ENV.KILN_PATH || '/fn/hello'
const SECONDS = Number(__ENV.SECONDS || 5)
const LEVELS = (__ENV.CONNS || '1,32,256,1000').split(',').map(Number)

export const options = {
  discardResponseBodies: false,
  summaryTrendStats: ['avg', 'p(50)', 'p(90)', 'p(99)', 'max'],
  scenarios: Object.fromEntries(LEVELS.map((vus, i) => [`conns_${vus}`, {
    executor: 'constant-vus',
    vus,
    duration: `${SECONDS}s`,
    startTime: `${i * (SECONDS + 2)}s`,
    gracefulStop: '1s',
    tags: { conns: String(vus) },
  }])),
  // Sub-metrics per level so the end-of-test summary shows each one.
  thresholds: Object.fromEntries(LEVELS.flatMap((vus) => [
    [`http_req_duration{conns:${vus}}`, []],
    [`http_reqs{conns:${vus}}`, []],
    [`http_req_failed{conns:${vus}}`, []],
  ])),
}

export default function () {
  const res = http.get(`${BASE}${PATH}`)
  check(res, { 'status 200': (r) => r.status === 200, 'body hello': (r) => r.body === 'hello' })
}
