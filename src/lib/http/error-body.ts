// The JSON body of a refused request, in document 002's shape: error.code, error.message,
// error.details (limit, window_seconds, retry_after_seconds, policy) and error.recovery_suggestions.
// Short messages that name the limit and its value and say what to do.

import type { RateDecision } from '../engine/rate-decision.js';
import type { PenaltyBlock } from '../policy/penalty.js';
import { retryAfterSeconds } from './ratelimit-headers.js';

export interface RateLimitErrorBody {
  error: {
    code: 'RATE_LIMIT_EXCEEDED' | 'REQUEST_TOO_COSTLY' | 'ACCESS_BLOCKED' | 'TEMPORARILY_BLOCKED';
    message: string;
    details: {
      policy: string;
      limit: number;
      window_seconds: number;
      retry_after_seconds: number | null;
    };
    recovery_suggestions: string[];
  };
}

function windowText(windowMs: number): string {
  if (windowMs <= 0) return 'at once';
  const s = windowMs / 1000;
  if (s % 86_400 === 0)
    return `per ${s / 86_400 === 1 ? '' : `${s / 86_400} `}day${s / 86_400 === 1 ? '' : 's'}`;
  if (s % 3600 === 0) return `per ${s / 3600 === 1 ? '' : `${s / 3600} `}hour${s / 3600 === 1 ? '' : 's'}`;
  if (s % 60 === 0) return `per ${s / 60 === 1 ? '' : `${s / 60} `}minute${s / 60 === 1 ? '' : 's'}`;
  return `per ${Number(s.toFixed(3))}s`;
}

export function rateLimitedBody(decision: RateDecision): RateLimitErrorBody {
  const policy = decision.policy === '' ? 'default' : decision.policy;
  const retry = retryAfterSeconds(decision);
  const windowSeconds = Math.ceil(decision.windowMs / 1000);
  if (retry === undefined) {
    return {
      error: {
        code: 'REQUEST_TOO_COSTLY',
        message: `This request costs more than rate limit "${policy}" allows at all (${decision.limit} ${windowText(decision.windowMs)}). Split it into smaller requests.`,
        details: { policy, limit: decision.limit, window_seconds: windowSeconds, retry_after_seconds: null },
        recovery_suggestions: ['Split the request into smaller ones', 'Ask for a higher limit'],
      },
    };
  }
  return {
    error: {
      code: 'RATE_LIMIT_EXCEEDED',
      message: `Rate limit "${policy}" exceeded: ${decision.limit} ${windowText(decision.windowMs)}. Retry in ${retry}s.`,
      details: { policy, limit: decision.limit, window_seconds: windowSeconds, retry_after_seconds: retry },
      recovery_suggestions: [
        `Wait ${retry} seconds before retrying`,
        'Implement exponential backoff',
        'Consider upgrading to a higher rate limit tier',
      ],
    },
  };
}

export function blockedBody(): RateLimitErrorBody {
  return {
    error: {
      code: 'ACCESS_BLOCKED',
      message: 'Access from this client is blocked. Contact the API owner if you think this is a mistake.',
      details: { policy: 'block_list', limit: 0, window_seconds: 0, retry_after_seconds: null },
      recovery_suggestions: ['Contact the API owner'],
    },
  };
}

/** Whole seconds until a penalty block ends (at least 1 while it lasts): Retry-After and the body agree. */
export function blockRetryAfterSeconds(block: PenaltyBlock, nowMs: number): number {
  return Math.max(1, Math.ceil((block.endMs - nowMs) / 1000));
}

/** A penalty block: refused like the block list (403), but it says which policy, why, and until when. */
export function penaltyBlockedBody(block: PenaltyBlock, nowMs: number): RateLimitErrorBody {
  const retry = blockRetryAfterSeconds(block, nowMs);
  return {
    error: {
      code: 'TEMPORARILY_BLOCKED',
      message: `Blocked by policy "${block.policy}" after repeated refusals (${block.reason}, level ${block.level}) until ${new Date(block.endMs).toISOString()}. Retry in ${retry}s.`,
      details: { policy: block.policy, limit: 0, window_seconds: 0, retry_after_seconds: retry },
      recovery_suggestions: [
        `Wait ${retry} seconds before retrying`,
        'Stay within the rate limit: every further block lasts longer',
        'Contact the API owner if you think this is a mistake',
      ],
    },
  };
}
