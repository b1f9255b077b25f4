// The write pipeline's runner (src/decide/write-pipeline.ts): stages run in the listed order, a stage's Decision
// ends the run, the run stays synchronous while every stage is, goes on after a stage that answers with a Promise,
// and turns a throw or a rejection into the `failed` decision rather than an exception.
import { describe, expect, it } from 'vitest';
import { ALLOWED, INTERNAL_ERROR, denial } from '../../../src/decision/catalogue.js';
import type { Decision } from '../../../src/decision/decision.js';
import { WRITE_STAGES, runStages } from '../../../src/decide/write-pipeline.js';
import type { StageDeps, WriteStage, WriteState } from '../../../src/decide/write-request.js';

const deps = {} as StageDeps;
const failed = (): Decision => INTERNAL_ERROR;

function state(): WriteState {
  return { req: { tenant: 't' }, decided: undefined } as unknown as WriteState;
}

function stage(name: string, log: string[], outcome?: Decision | 'throw' | 'async' | 'reject'): WriteStage {
  return {
    name,
    run(s) {
      log.push(name);
      if (outcome === 'throw') throw new Error('bug');
      if (outcome === 'async') return Promise.resolve(s);
      if (outcome === 'reject') return Promise.reject(new Error('store down'));
      if (outcome !== undefined) return outcome;
      s.decided = ALLOWED;
      return s;
    },
  };
}

describe('runStages', () => {
  it("runs the stages in order and gives the last state's decision, synchronously", () => {
    const log: string[] = [];
    const out = runStages([stage('a', log), stage('b', log), stage('c', log)], state(), deps, failed);
    expect(out).toBe(ALLOWED);
    expect(log).toEqual(['a', 'b', 'c']);
  });

  it('stops at the first stage that answers with a decision', () => {
    const log: string[] = [];
    const denied = denial('ingestion_rate', 'over', 1, 2, 1);
    const out = runStages([stage('a', log), stage('b', log, denied), stage('c', log)], state(), deps, failed);
    expect(out).toBe(denied);
    expect(log).toEqual(['a', 'b']);
  });

  it('goes on after a stage that answers with a Promise, in order', async () => {
    const log: string[] = [];
    const out = runStages([stage('a', log, 'async'), stage('b', log)], state(), deps, failed);
    expect(out).toBeInstanceOf(Promise);
    expect(await out).toBe(ALLOWED);
    expect(log).toEqual(['a', 'b']);
  });

  it('turns a throw or a rejection into the failed decision', async () => {
    const log: string[] = [];
    expect(runStages([stage('a', log, 'throw'), stage('b', log)], state(), deps, failed)).toBe(
      INTERNAL_ERROR,
    );
    expect(await runStages([stage('c', log, 'reject'), stage('d', log)], state(), deps, failed)).toBe(
      INTERNAL_ERROR,
    );
    expect(log).toEqual(['a', 'c']);
  });

  it("lists Mimir's order: HA, drop_labels and validation, the static limits, max series, cost, the rates, selective filtering", () => {
    expect(WRITE_STAGES.map((s) => s.name)).toEqual([
      'accept_ha_samples',
      'drop_labels, validation',
      'selective_filtering (retry)',
      'static limits',
      'max_global_series_per_user',
      'cost',
      'request_rate, ingestion_rate',
      'selective_filtering',
    ]);
  });
});
