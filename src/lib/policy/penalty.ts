// Progressive penalties: a policy's `penalty` turns repeated denials of one identity (the policy's key: an
// IP, a user, an API key, a tenant...) into a block whose length climbs a ladder with each new offence and
// whose level steps back down after clean periods. Here: the file format (zod), its compiled form, and
// the arithmetic, as pure functions of a state and a time, so the in-process box, the Redis script and the
// property test all follow one definition.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Duration } from '../engine/duration.js';
import { durationMs } from '../engine/duration.js';

/** Most rungs a ladder may have: the level is a metric label, so it must stay a small, fixed set. */
export const MAX_PENALTY_LEVELS = 10;

const duration = z.union([z.number(), z.string()]);

export const penaltySchema = z
  .object({
    /** Denials by this policy, within `window`, that start a block. */
    after: z.number().int('must be a whole number of denials').min(1, 'must be at least 1 denial'),
    /** How long denials are counted together (from the first one), e.g. "1m". */
    window: duration,
    /** Block length of each level: the first offence gets the first, later ones climb, the last repeats. */
    durations: z
      .array(duration)
      .min(1, 'give at least one block duration, e.g. [1m, 10m, 1h]')
      .max(MAX_PENALTY_LEVELS, `at most ${MAX_PENALTY_LEVELS} levels`),
    /** A clean period after a block that takes the level one step back down (default 24h). */
    decay: duration.optional(),
  })
  .strict();

export type PenaltyInput = z.infer<typeof penaltySchema>;

export interface PenaltyRule {
  readonly after: number;
  readonly windowMs: number;
  /** Block length per level: durationsMs[level - 1]. */
  readonly durationsMs: readonly number[];
  readonly decayMs: number;
}

export const DEFAULT_DECAY_MS = 86_400_000;

/** What one identity's record says: denials counted in the current window, and its offence level. */
export interface PenaltyState {
  /** Denials counted since `windowStartMs`. */
  count: number;
  windowStartMs: number;
  /** The level of the last block (0: never blocked). Decays lazily: see levelAt(). */
  level: number;
  blockStartMs: number;
  /** End of the last block (exclusive: at this instant the identity is free again). */
  blockEndMs: number;
}

/** An identity blocked by a policy's penalty, as the API and the refusal show it. */
export interface PenaltyBlock {
  policy: string;
  /** The policy's key for the identity (an address, `u:<user>`, an API key, a tenant...). */
  key: string;
  level: number;
  startMs: number;
  endMs: number;
  /** Denials that started it and over how long, e.g. "5 denials within 1m". */
  reason: string;
}

function durationProblem(d: Duration): string | undefined {
  return durationMs(d) === undefined
    ? `${JSON.stringify(d)} is not a duration; use e.g. "30s", "10m", "1h" or a number of ms above 0`
    : undefined;
}

/** Compiles a validated `penalty`; problems are pushed with their path under `at`. */
export function compilePenalty(
  input: PenaltyInput,
  at: string,
  issues: { path: string; message: string }[],
): PenaltyRule | undefined {
  const before = issues.length;
  const check = (d: Duration, path: string): number => {
    const problem = durationProblem(d);
    if (problem !== undefined) issues.push({ path: `${at}.${path}`, message: problem });
    return durationMs(d) ?? 0;
  };
  const windowMs = check(input.window, 'window');
  const durationsMs = input.durations.map((d, i) => check(d, `durations[${i}]`));
  for (let i = 1; i < durationsMs.length; i++) {
    if (durationsMs[i]! > 0 && durationsMs[i - 1]! > durationsMs[i]!)
      issues.push({
        path: `${at}.durations[${i}]`,
        message: 'must not be shorter than the level before it: a repeat offence never gets a shorter block',
      });
  }
  const decayMs = input.decay === undefined ? DEFAULT_DECAY_MS : check(input.decay, 'decay');
  if (issues.length > before) return undefined;
  return { after: input.after, windowMs, durationsMs, decayMs };
}

/** "5 denials within 1m": why a block was set, in the words of the policy file. */
export function penaltyReason(rule: PenaltyRule): string {
  return `${rule.after} denial${rule.after === 1 ? '' : 's'} within ${durationText(rule.windowMs)}`;
}

export function durationText(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** The offence level at `nowMs`: the last block's level, one step lower per full `decay` since it ended. */
export function levelAt(state: PenaltyState, rule: PenaltyRule, nowMs: number): number {
  if (state.level === 0 || nowMs < state.blockEndMs) return state.level;
  return Math.max(0, state.level - Math.floor((nowMs - state.blockEndMs) / rule.decayMs));
}

/** True while the last block lasts: from its start, up to (not including) its end. */
export function isBlocked(state: PenaltyState, nowMs: number): boolean {
  return nowMs >= state.blockStartMs && nowMs < state.blockEndMs;
}

/**
 * Counts one denial at `nowMs` into `state` (a fresh one when undefined), in place; returns the state and
 * whether it started a block. The window opens at the first denial after the last one closed. Denials
 * while blocked are not counted: a blocked identity is refused before any policy sees it.
 */
export function recordDenial(
  state: PenaltyState | undefined,
  rule: PenaltyRule,
  nowMs: number,
): { state: PenaltyState; blocked: boolean } {
  const s = state ?? { count: 0, windowStartMs: nowMs, level: 0, blockStartMs: 0, blockEndMs: 0 };
  if (isBlocked(s, nowMs)) return { state: s, blocked: false };
  if (s.count === 0 || nowMs >= s.windowStartMs + rule.windowMs) {
    s.count = 0;
    s.windowStartMs = nowMs;
  }
  s.count++;
  if (s.count < rule.after) return { state: s, blocked: false };
  const ladder = rule.durationsMs;
  s.level = Math.min(levelAt(s, rule, nowMs) + 1, ladder.length);
  s.blockStartMs = nowMs;
  s.blockEndMs = nowMs + ladder[s.level - 1]!;
  s.count = 0;
  return { state: s, blocked: true };
}

/** When the record says nothing any more: its window has closed and its level has decayed to 0. */
export function forgetAtMs(state: PenaltyState, rule: PenaltyRule): number {
  const windowEnd = state.count > 0 ? state.windowStartMs + rule.windowMs : 0;
  const levelEnd = state.level > 0 ? state.blockEndMs + state.level * rule.decayMs : 0;
  return Math.max(windowEnd, levelEnd, state.blockEndMs);
}

/** The separator between a policy name and a key: policy names never contain it (policy-schema.ts). */
export const PENALTY_KEY_SEPARATOR = '/';

/**
 * Opaque, URL-safe id of one identity's block under one policy (what DELETE /api/blocks/{id} takes): a
 * digest, so an id shown to a viewer never reveals the key (an API key, for one).
 */
export function blockId(policy: string, key: string): string {
  return createHash('sha256')
    .update(`${policy}${PENALTY_KEY_SEPARATOR}${key}`, 'utf8')
    .digest('base64url')
    .slice(0, 22);
}
