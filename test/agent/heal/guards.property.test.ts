import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { breakerState, HOUR_MS } from '../../../agent/heal/guards.ts';
import { EngineHarness, healConfig } from './support/engine-harness.ts';

const step = fc.record({
  advanceMs: fc.integer({ min: 100, max: 120_000 }),
  present: fc.boolean(),
  outcomeOk: fc.boolean(),
  healthy: fc.boolean(),
});

const guards = fc.record({
  cooldownSec: fc.integer({ min: 0, max: 120 }),
  backoff: fc.record({ initialSec: fc.integer({ min: 0, max: 30 }), maxSec: fc.integer({ min: 30, max: 600 }) }),
  breaker: fc.record({ failures: fc.integer({ min: 1, max: 5 }), openSec: fc.integer({ min: 1, max: 900 }) }),
  verify: fc.record({ windowSec: fc.integer({ min: 2, max: 60 }), settleSec: fc.integer({ min: 0, max: 1 }) }),
  escalateAfterSec: fc.integer({ min: 1, max: 3600 }),
  stableSec: fc.integer({ min: 1, max: 1800 }),
});

const scenario = fc.record({
  guards,
  maxActionsPerHour: fc.integer({ min: 0, max: 12 }),
  dryRun: fc.boolean(),
  steps: fc.array(step, { minLength: 1, maxLength: 120 }),
  seed: fc.integer(),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** Drives a real engine (real sqlite journal) through a random life of symptoms and outcomes. */
async function live(s: Scenario) {
  const rules = [
    { id: 'restart-web', symptom: { kind: 'process_down', service: 'web' }, action: { type: 'restart_service', service: 'web' }, guards: s.guards },
    { id: 'fix', symptom: { kind: 'anomaly' }, action: { type: 'run_command', command: 'fix' }, guards: s.guards },
  ];
  const h = new EngineHarness(healConfig({ dryRun: s.dryRun, maxActionsPerHour: s.maxActionsPerHour, rules }), s.seed);
  const violations: string[] = [];
  h.executor.onExecute = (a, ctx) => {
    if (ctx.dryRun) return;
    for (const t of h.engine.snapshot()) {
      if (t.target === (a.type === 'restart_service' ? 'service:web' : 'command:fix') && breakerState(t.state, h.heal.policy.rules[0]!.guards, h.t) === 'open') {
        violations.push(`${a.type} ran at ${h.t} while its breaker was open`);
      }
    }
  };
  try {
    for (const st of s.steps) {
      h.present.set('down:web', st.present);
      h.present.set('anomaly', !st.present);
      h.executor.outcomeOk = st.outcomeOk;
      h.executor.healthy = st.healthy;
      await h.step(st.advanceMs);
    }
    return { calls: h.executor.calls, violations };
  } finally {
    h.close();
  }
}

describe('heal guards (properties over random symptom/outcome sequences)', () => {
  it('actions per hour never exceed the limit; nothing runs while a breaker is open; dry-run never acts', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { calls, violations } = await live(s);
        const real = calls.filter((c) => !c.dryRun);
        assert.deepEqual(violations, []);
        if (s.dryRun) assert.equal(real.length, 0, 'dry-run acted');
        for (const c of real) {
          const inHour = real.filter((o) => o.at > c.at - HOUR_MS && o.at <= c.at).length;
          assert.ok(inHour <= s.maxActionsPerHour, `${inHour} actions in the hour before ${c.at}, limit ${s.maxActionsPerHour}`);
        }
      }),
      { numRuns: 60 },
    );
  });
});
