// What a policy's `penalty` costs on the hot path (docs/policies.md#progressive-penalties): one in-process
// policy evaluation per request over 100,000 client IPs, with the same per-IP policy without a penalty,
// with one and no block in force, and with 10,000 other IPs blocked; and the answer to a blocked IP.
// Usage: npm run bench:penalties [-- --quick]. Prints one line per case, then one JSON line.

import { cpus } from 'node:os';
import { loadPolicySet } from '../src/lib/policy/policy-set.js';
import { PolicyEngine } from '../src/lib/policy/policy-engine.js';
import type { RequestContext } from '../src/lib/policy/request-context.js';
import { runMicro, sinkValue } from './lib/microbench.js';

const quick = process.argv.includes('--quick');
const CLIENTS = 100_000;
const BLOCKED = 10_000;
const policy = (penalty: string) => `
policies:
  - name: per-ip
    match: { scope: ip }
    limit: { algorithm: fixed_window, limit: 1000000000, window: 1h }
${penalty}
`;
const PENALTY = '    penalty: { after: 5, window: 1m, durations: [10m, 1h, 1d] }';
const start = Date.parse('2026-01-01T00:00:00Z');

// Contexts built once: the request's identity is already known when the engine is asked.
const contexts: RequestContext[] = Array.from({ length: CLIENTS }, (_, i) => {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return { ip, ipKey: ip, method: 'GET', path: '/api/items' };
});
const blockedContexts: RequestContext[] = Array.from({ length: BLOCKED }, (_, i) => {
  const ip = `172.16.${(i >> 8) & 255}.${i & 255}`;
  return { ip, ipKey: ip, method: 'GET', path: '/api/items' };
});

const plain = new PolicyEngine(loadPolicySet(policy('')));
const penalized = new PolicyEngine(loadPolicySet(policy(PENALTY)));
const withBlocks = new PolicyEngine(loadPolicySet(policy(PENALTY)));
const rule = withBlocks.policies[0]!.penalty!;
for (const c of blockedContexts)
  for (let k = 0; k < 5; k++) withBlocks.penalties.offend('per-ip', rule, c.ipKey!, start);
if (withBlocks.penalties.activeCount(start) !== BLOCKED) throw new Error('the blocks were not set up');

let i = 0;
let clock = start;
const evaluate = (engine: PolicyEngine, from: RequestContext[]) => () => {
  i = (i + 1) % from.length;
  clock += 0.001; // 1,000 requests a second: every block stays in force through the run
  return engine.evaluate(from[i]!, clock).allowed ? 1 : 0;
};
const results = await runMicro(
  [
    { name: 'no penalty', run: evaluate(plain, contexts) },
    { name: 'penalty, no block', run: evaluate(penalized, contexts) },
    { name: 'penalty, 10k blocked', run: evaluate(withBlocks, contexts) },
    { name: 'a blocked IP', run: evaluate(withBlocks, blockedContexts) },
  ],
  { warmupMs: quick ? 200 : 1000, roundMs: quick ? 200 : 1000, rounds: quick ? 3 : 7, minIterations: 1000 },
);
const ns = new Map(results.map((r) => [r.name, r.medianUs * 1000]));
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, Node ${process.version}, ${CLIENTS} clients`,
);
for (const r of results)
  console.log(`${r.name.padEnd(22)} ${(r.medianUs * 1000).toFixed(0).padStart(8)} ns/op`);
console.log(
  JSON.stringify({
    bench: 'penalties',
    ns: Object.fromEntries([...ns].map(([k, v]) => [k, round(v)])),
    penalty_overhead_ns: round(ns.get('penalty, no block')! - ns.get('no penalty')!),
    penalty_overhead_with_blocks_ns: round(ns.get('penalty, 10k blocked')! - ns.get('no penalty')!),
    sink: sinkValue() > 0,
  }),
);
