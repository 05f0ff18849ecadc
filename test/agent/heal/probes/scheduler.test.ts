import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProbeScheduler } from '../../../../agent/heal/probes/scheduler.ts';
import { ProbeSchema, type Probe, type ProbeResult } from '../../../../agent/heal/probes/schema.ts';
import { Counters } from '../../../../shared/observe/counters.ts';
import { silentLogger } from '../../../../shared/observe/log.ts';
import { FakeClock } from '../../../support/fake-clock.ts';

const probe = (name: string, intervalSec: number): Probe => ProbeSchema.parse({ name, kind: 'tcp', host: '127.0.0.1', port: 1, intervalSec, timeoutMs: 500 });

/** A runner the test drives: each call is recorded and settles only when the test says so. */
function controlledRunner(clock: FakeClock) {
  const calls: Array<{ name: string; at: number; finish: (r: ProbeResult) => void; signal: AbortSignal }> = [];
  const run = (p: Probe, signal: AbortSignal) => new Promise<ProbeResult>((finish) => calls.push({ name: p.name, at: clock.now(), finish, signal }));
  return { calls, run };
}

test('each probe runs at start and then every intervalSec, on its own schedule', async () => {
  const clock = new FakeClock();
  const t0 = clock.now();
  const starts: Record<string, number[]> = { a: [], b: [] };
  const s = new ProbeScheduler({
    probes: [probe('a', 2), probe('b', 5)],
    log: silentLogger,
    counters: new Counters(),
    clock,
    run: async (p) => {
      starts[p.name]!.push(clock.now() - t0);
      return { ok: true, latencyMs: 1, detail: 'fine' };
    },
  });
  s.start();
  await clock.advance(10_500);
  s.stop();
  assert.deepEqual(starts.a, [0, 2000, 4000, 6000, 8000, 10000]);
  assert.deepEqual(starts.b, [0, 5000, 10000]);
  assert.equal(s.results('a').length, 0, 'stop() forgets the results');
});

test('a run still in progress when the next is due is never overlapped; the next starts when it ends', async () => {
  const clock = new FakeClock();
  const t0 = clock.now();
  const { calls, run } = controlledRunner(clock);
  const s = new ProbeScheduler({ probes: [probe('a', 1)], log: silentLogger, counters: new Counters(), clock, run });
  s.start();
  await clock.advance(0);
  assert.equal(calls.length, 1);
  await clock.advance(3_500); // three intervals pass while the first run hangs
  assert.equal(calls.length, 1, 'no second run while the first is in flight');
  calls[0]!.finish({ ok: false, latencyMs: 3500, detail: 'slow' });
  await clock.advance(0);
  assert.equal(calls.length, 2, 'the overdue run starts as soon as the first ends');
  assert.equal(calls[1]!.at - t0, 3_500);
  calls[1]!.finish({ ok: true, latencyMs: 1, detail: 'fine' });
  await clock.advance(999);
  assert.equal(calls.length, 2);
  await clock.advance(1);
  assert.equal(calls.length, 3, 'then back to one run per interval from its start');
  s.stop();
});

test('keeps only the last `history` results per probe and answers "failing k of n"', async () => {
  const clock = new FakeClock();
  const outcomes = [true, false, true, false, false, false, true];
  let i = 0;
  const counters = new Counters();
  const s = new ProbeScheduler({
    probes: [probe('a', 1)],
    log: silentLogger,
    counters,
    clock,
    history: 4,
    run: async () => ({ ok: outcomes[i++ % outcomes.length]!, latencyMs: 1, detail: `run ${i}` }),
  });
  const seen: string[] = [];
  s.onResult((name, r) => seen.push(`${name}:${r.detail}`));
  s.start();
  await clock.advance(6_000); // 7 runs: at 0..6 s

  const kept = s.results('a');
  assert.deepEqual(kept.map((r) => r.detail), ['run 4', 'run 5', 'run 6', 'run 7'], 'oldest first, the first three dropped');
  assert.deepEqual(s.window('a', 4), { failures: 3, seen: 4 });
  assert.deepEqual(s.window('a', 2), { failures: 1, seen: 2 });
  assert.equal(s.last('a')?.ok, true);
  assert.equal(seen.length, 7);
  assert.equal(counters.get('homeostat_probe_runs_total', { probe: 'a', result: 'failed' }), 4);
  assert.equal(counters.get('homeostat_probe_runs_total', { probe: 'a', result: 'ok' }), 3);
  assert.throws(() => s.window('a', 5), /only 4 are kept/);
  s.stop();
});

test('a young probe reports a partial window; an unknown probe an empty one', async () => {
  const clock = new FakeClock();
  const s = new ProbeScheduler({ probes: [probe('a', 10)], log: silentLogger, counters: new Counters(), clock, run: async () => ({ ok: false, latencyMs: 1, detail: 'x' }) });
  s.start();
  await clock.advance(0);
  assert.deepEqual(s.window('a', 3), { failures: 1, seen: 1 });
  assert.deepEqual(s.window('nope', 3), { failures: 0, seen: 0 });
  s.stop();
});

test('stop() aborts the run in flight, drops its result and leaves no timer behind', async () => {
  const clock = new FakeClock();
  const { calls, run } = controlledRunner(clock);
  const s = new ProbeScheduler({ probes: [probe('a', 1), probe('b', 1)], log: silentLogger, counters: new Counters(), clock, run });
  s.start();
  await clock.advance(0);
  assert.equal(calls.length, 2);
  s.stop();
  assert.equal(calls[0]!.signal.aborted, true);
  calls[0]!.finish({ ok: true, latencyMs: 1, detail: 'late' });
  await clock.advance(5_000);
  assert.equal(calls.length, 2, 'nothing runs after stop');
  assert.equal(clock.pending(), 0);
});

test('a runner that throws is recorded as a failed run, and the schedule goes on', async () => {
  const clock = new FakeClock();
  let n = 0;
  const s = new ProbeScheduler({
    probes: [probe('a', 1)],
    log: silentLogger,
    counters: new Counters(),
    clock,
    run: async () => {
      n++;
      throw new Error('boom');
    },
  });
  s.start();
  await clock.advance(2_000);
  assert.equal(n, 3);
  assert.equal(s.last('a')?.detail, 'probe runner failed: boom');
  s.stop();
});

test('two probes with one name are refused at start', () => {
  const s = new ProbeScheduler({ probes: [probe('a', 1), probe('a', 2)], log: silentLogger, counters: new Counters(), clock: new FakeClock() });
  assert.throws(() => s.start(), /declared twice/);
  s.stop();
});
