// The library's one public entry: the engine (algorithms, limiter), policies, identities and HTTP
// conventions. Nothing here starts a server or reads the environment.

export type { AlgorithmName, RateAlgorithm } from './engine/algorithm.js';
export type { AlgorithmSpec } from './engine/algorithm-spec.js';
export { AlgorithmSpecError, createAlgorithm } from './engine/algorithm-spec.js';
export type { CalendarUnit } from './engine/calendar-period.js';
export type { Duration } from './engine/duration.js';
export { durationMs } from './engine/duration.js';
export type { RateDecision } from './engine/rate-decision.js';
export { emptyRateDecision } from './engine/rate-decision.js';
export type { RateLimiterOptions } from './engine/rate-limiter.js';
export { RateLimiter } from './engine/rate-limiter.js';
export type { CompiledPolicy, CompiledPolicySet, PolicyIssue } from './policy/policy-set.js';
export { compilePolicySet, loadPolicySet, PolicySetError } from './policy/policy-set.js';
export type { PolicyInput, PolicySetInput, Scope, Level } from './policy/policy-schema.js';
export type { PolicyEvaluation, PolicyOutcome, PolicyResult } from './policy/policy-engine.js';
export { PolicyEngine } from './policy/policy-engine.js';
export type { RequestContext } from './policy/request-context.js';
export { IpMatcher, cidrProblem, clientIpKey, normalizeIp } from './policy/ip-match.js';
export type { ClientIp, ClientIpOptions } from './identify/client-ip.js';
export { ClientIpResolver } from './identify/client-ip.js';
export type { JwtIdentityOptions, JwtUser } from './identify/jwt-identity.js';
export { JwtIdentity } from './identify/jwt-identity.js';
export type { ApiKeyOptions } from './identify/api-key.js';
export { apiKeyFrom } from './identify/api-key.js';
export type { HeaderStyle } from './http/ratelimit-headers.js';
export { rateLimitHeaders, retryAfterSeconds } from './http/ratelimit-headers.js';
export type { RateLimitErrorBody } from './http/error-body.js';
export { blockedBody, rateLimitedBody } from './http/error-body.js';
export type { HttpRateLimitOptions, HttpRequestFacts, HttpVerdict } from './http/http-rate-limiter.js';
export { HttpRateLimiter } from './http/http-rate-limiter.js';
export { rateLimitMiddleware, withRateLimit } from './http/node-middleware.js';
export { fastifyRateLimit } from './http/fastify-plugin.js';
export type { HonoContextLike, HonoRateLimitOptions } from './http/hono-middleware.js';
export { honoRateLimit } from './http/hono-middleware.js';
