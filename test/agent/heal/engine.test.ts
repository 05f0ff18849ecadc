import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EngineHarness, healConfig } from './support/engine-harness.ts';

const restartWeb = (guards: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  id: 'restart-web',
  symptom: { kind: 'process_down', service: 'web' },
  action: { type: 'restart_service', service: 'web' },
  guards: { cooldownSec: 5, backoff: { initialSec: 2, maxSec: 8 }, breaker: { failures: 3, openSec: 60 }, verify: { windowSec: 5, settleSec: 2 }, escalateAfterSec: 40, stableSec: 30, ...guards },
  ...extra,
});

const harnesses: EngineHarness[] = [];
function harness(policy: Record<string, unknown>, extra: Record<string, unknown> = {}): EngineHarness {
  const h = new EngineHarness(healConfig(policy, extra));
  harnesses.push(h);
  return h;
}
after(() => harnesses.forEach((h) => h.close()));

describe('HealEngine', () => {
  it('acts on a symptom, verifies the recovery, and records the whole story under one correlation id', async () => {
    const h = harness({ rules: [restartWeb()] });
    h.present.set('down:web', true);
    await h.step(1000);
    assert.equal(h.executor.real(), 1);
    h.present.set('down:web', false);
    await h.run(3);
    const kinds = h.decisions().map((d) => d.kind);
    assert.deepEqual(kinds, ['symptom', 'acted', 'verified']);
    const corrs = new Set(h.store.auditSince(0).map((r) => r.corr));
    assert.equal(corrs.size, 1, 'one episode, one correlation id');
    const journal = h.store.db.prepare('SELECT state, outcome FROM heal_journal').all() as Array<{ state: string; outcome: string }>;
    assert.deepEqual(journal.map((j) => j.state), ['done']);
    assert.equal(h.events.filter((e) => e.body.type === 'action').length, 2);
  });

  it('guard state is written when it changes, not every tick; a rule removed by a new policy leaves no state behind', async () => {
    const h = harness({ rules: [restartWeb()] });
    const rows = () => h.store.db.prepare('SELECT key, updated_at FROM heal_tracks').all() as Array<{ key: string; updated_at: number }>;
    await h.run(1);
    const first = rows();
    assert.equal(first.length, 1);
    await h.run(10);
    assert.deepEqual(rows(), first, 'a healthy service: idle ticks do not rewrite the state');
    h.present.set('down:web', true);
    await h.step(1000);
    assert.ok(rows()[0]!.updated_at > first[0]!.updated_at, 'an action changes the state, and it is written');
    assert.equal(h.engine.setPolicy({ version: 2, rules: [] }, 'test').ok, true);
    assert.deepEqual(rows(), []);
  });

  it('a service that dies after every restart: breaker opens after N failures, one escalation, no storm', async () => {
    const h = harness({ rules: [restartWeb()] });
    h.present.set('down:web', true);
    // The symptom never clears: every restart fails verification.
    await h.run(300);
    assert.equal(h.executor.real(), 3, 'exactly breaker.failures attempts');
    assert.equal(h.decisions('breaker_open').length, 1);
    assert.equal(h.decisions('verify_failed').length, 3);
    const esc = h.decisions('escalated');
    assert.equal(esc.length, 1, 'one escalation');
    const story = esc[0]!.record.story as Array<{ decision: string }>;
    assert.ok(story.some((s) => s.decision === 'breaker_open') && story.filter((s) => s.decision === 'acted').length === 3, 'the escalation carries the story');
    assert.equal(h.events.filter((e) => e.body.type === 'escalation').length, 1);
    // Skips are recorded when the guard changes, not every tick.
    assert.ok(h.decisions('skipped').length < 10, `${h.decisions('skipped').length} skip records`);
  });

  it('backs off exponentially between failed recoveries', async () => {
    const h = harness({ rules: [restartWeb({ cooldownSec: 0, backoff: { initialSec: 10, maxSec: 100 }, breaker: { failures: 10, openSec: 60 }, escalateAfterSec: 3600 })] });
    h.present.set('down:web', true);
    await h.run(200);
    const at = h.executor.calls.map((c) => c.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // gap = verify window (5 s) + backoff jittered to 50–100 % of 10, 20, 40, 80, 100 s.
    for (const [i, gap] of gaps.entries()) {
      const base = Math.min(100, 10 * 2 ** i) * 1000;
      assert.ok(gap >= 5000 + base * 0.5 && gap <= 5000 + base + 2000, `gap ${i}: ${gap} ms for base ${base}`);
    }
    assert.ok(gaps.length >= 3);
  });

  it('a recovery that does not hold counts as a failure; a stable period resets the counters', async () => {
    const h = harness({ rules: [restartWeb({ breaker: { failures: 5, openSec: 60 } })] });
    h.present.set('down:web', true);
    await h.step(1000);
    h.present.set('down:web', false);
    await h.run(3);
    assert.equal(h.decisions('verified').length, 1);
    h.present.set('down:web', true);
    await h.step(1000);
    assert.equal(h.decisions('relapse').length, 1);
    assert.equal(h.engine.snapshot()[0]!.state.failures, 1);
    h.present.set('down:web', false);
    await h.run(40);
    assert.equal(h.engine.snapshot()[0]!.state.failures, 0, 'reset after stableSec');
    assert.equal(h.decisions('reset').length, 1);
  });

  it('dry-run decides and reports but never acts', async () => {
    const h = harness({ dryRun: true, rules: [restartWeb()] });
    h.present.set('down:web', true);
    await h.run(20);
    assert.equal(h.executor.real(), 0);
    assert.ok(h.decisions('dry_run').length >= 1);
    assert.ok(h.executor.calls.every((c) => c.dryRun));
  });

  it('the node-wide rate limit holds across rules', async () => {
    const rules = ['a', 'b', 'c', 'd'].map((id) => ({ id, symptom: { kind: 'anomaly' }, action: { type: 'notify', message: id }, guards: { cooldownSec: 1, verify: { windowSec: 2, settleSec: 1 } } }));
    const h = harness({ maxActionsPerHour: 3, rules });
    h.present.set('anomaly', true);
    await h.run(30);
    assert.equal(h.executor.real(), 3);
    assert.ok(h.decisions('skipped').some((d) => d.record.guard === 'rate_limit'));
  });

  it('a pause stops actions; resuming lets them run', async () => {
    const h = harness({ rules: [restartWeb()] });
    h.engine.setPaused(true, 'test', 'maintenance');
    h.present.set('down:web', true);
    await h.run(5);
    assert.equal(h.executor.real(), 0);
    assert.equal(h.decisions('skipped')[0]!.record.guard, 'paused');
    h.engine.setPaused(false, 'test');
    await h.step(1000);
    assert.equal(h.executor.real(), 1);
  });

  it('approval: no answer means no action; an approval lets it run', async () => {
    const h = harness({ rules: [restartWeb({ approval: { required: true, timeoutSec: 10 }, cooldownSec: 30, escalateAfterSec: 600 })] });
    h.present.set('down:web', true);
    await h.run(12);
    assert.equal(h.executor.real(), 0);
    assert.equal(h.decisions('approval_requested').length, 1);
    assert.equal(h.decisions('approval_timeout').length, 1);
    await h.run(30);
    assert.equal(h.decisions('approval_requested').length, 2, 'asked again after the cooldown');
    const corr = h.store.auditSince(0).find((r) => r.kind === 'approval_requested')!.corr!;
    assert.equal(h.engine.answerApproval(corr, true, 'alice'), true);
    await h.step(1000);
    assert.equal(h.executor.real(), 1);
    assert.match(String(h.decisions('acted')[0]!.record.detail), /approved by alice/);
  });

  it('refuses a policy that asks for more than the local config allows, and keeps the current one', async () => {
    const h = harness({ rules: [restartWeb()] });
    const r = h.engine.setPolicy({ version: 7, rules: [{ id: 'wipe', symptom: { kind: 'anomaly' }, action: { type: 'clean_dir', path: '/var/lib', olderThanSec: 0 } }] }, 'coordinator');
    assert.equal(r.ok, false);
    assert.match((r as { problems: string[] }).problems.join(), /rule "wipe"\.action: action clean_dir is not allowed/);
    assert.equal(h.engine.policyVersion, 0);
    assert.equal(h.decisions('policy_refused').length, 1);
    const bad = h.engine.setPolicy({ version: 8, rules: [{ id: 'x', symptom: { kind: 'metric', feature: 'cpu_user_pct', op: '>', value: 1 }, action: { type: 'restart_service' } }] }, 'coordinator');
    assert.equal(bad.ok, false);
    assert.match((bad as { problems: string[] }).problems.join(), /rule "x" \(rules\[0\]\)\.action\.service/);
  });

  it('reconciles an intent left open by a crash instead of repeating the action', async () => {
    const h = harness({ rules: [restartWeb({ cooldownSec: 60 })] });
    h.present.set('down:web', true);
    // Simulate a crash between intent and outcome: the executor never returns.
    h.executor.execute = () => new Promise(() => {});
    await h.engine.tick();
    const open = h.store.db.prepare(`SELECT count(*) AS n FROM heal_journal WHERE state = 'intent'`).get() as { n: number };
    assert.equal(open.n, 1);
    // A new engine on the same sqlite file: the "restarted agent".
    const restarted = new EngineHarness(h.heal);
    harnesses.push(restarted);
    restarted.store.close();
    restarted.store = h.store;
    restarted.t = h.t + 2000;
    restarted.present.set('down:web', true);
    restarted.executor.healthy = false;
    restarted.engine = restarted.build();
    await restarted.engine.start();
    await restarted.engine.stop();
    await restarted.run(20);
    assert.equal(restarted.executor.real(), 0, 'no second action within the cooldown');
    const rec = restarted.decisions('reconciled');
    assert.equal(rec.length, 1);
    assert.match(String(rec[0]!.record.detail), /stopped during this action.*not healthy/);
    const states = (h.store.db.prepare('SELECT state FROM heal_journal').all() as Array<{ state: string }>).map((r) => r.state);
    assert.deepEqual(states, ['reconciled']);
  });

  it('an operator reset lets an escalated target be tried again', async () => {
    const h = harness({ rules: [restartWeb({ escalateAfterSec: 3 })] });
    h.present.set('down:web', true);
    await h.run(60);
    const before = h.executor.real();
    assert.equal(h.decisions('escalated').length, 1);
    assert.equal(h.engine.reset('ops', 'restart-web'), 1);
    await h.step(1000);
    assert.equal(h.executor.real(), before + 1);
  });

  it('a failing probe outranks an anomaly on the same target: one action, the other rule waits', async () => {
    const byAnomaly = { ...restartWeb(), id: 'anomaly-restart', symptom: { kind: 'anomaly' } };
    const byProbe = { ...restartWeb(), id: 'probe-restart', symptom: { kind: 'probe_failing', probe: 'web-http', k: 1, n: 1 } };
    const h = harness({ rules: [byAnomaly, byProbe] });
    h.present.set('anomaly', true);
    h.present.set('probe:web-http', true);
    await h.step(1000);
    assert.equal(h.executor.real(), 1);
    assert.equal(h.decisions('acted')[0]!.record.ruleId, 'probe-restart');
    const skip = h.decisions('skipped').find((d) => d.record.ruleId === 'anomaly-restart')!;
    assert.equal(skip.record.guard, 'target_busy');
  });
});
