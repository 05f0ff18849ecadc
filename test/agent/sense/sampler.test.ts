import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sampler } from '../../../agent/sense/sampler.ts';
import { Counters } from '../../../shared/observe/counters.ts';
import { silentLogger } from '../../../shared/observe/log.ts';
import { FakeClock } from '../../support/fake-clock.ts';

function make(read: (now: number) => number[] | Promise<number[]>) {
  const clock = new FakeClock();
  const counters = new Counters();
  const sampler = new Sampler({ intervalMs: 1000, log: silentLogger, counters, clock, source: { read } });
  const seen: number[] = [];
  sampler.onSample((s) => seen.push(s.ts));
  return { clock, counters, sampler, seen };
}

test('ticks land on the grid start + k·interval even when each tick takes time', async () => {
  const { clock, sampler, seen } = make(() => {
    clock.t += 137; // every read takes 137 ms of (fake) time
    return [1];
  });
  const t0 = clock.t;
  sampler.start();
  await clock.advance(5_500);
  sampler.stop();
  assert.deepEqual(seen, [0, 1000, 2000, 3000, 4000, 5000].map((d) => t0 + d + 0));
});

test('a tick that outlasts its slots skips them (counted), does not queue them, and resumes on the grid', async () => {
  let release: (() => void) | null = null;
  let calls = 0;
  const { clock, counters, sampler, seen } = make(async () => {
    calls++;
    if (calls === 2) await new Promise<void>((r) => (release = r)); // the second tick hangs
    return [calls];
  });
  const t0 = clock.t;
  sampler.start();
  await clock.advance(1000); // tick at 0 and at 1000 (hangs)
  await clock.advance(2500); // slots 2000 and 3000 come while busy
  release!();
  await new Promise((r) => setImmediate(r));
  await clock.advance(1000); // slot 4000 runs normally
  sampler.stop();
  assert.deepEqual(seen, [t0, t0 + 1000, t0 + 4000]);
  assert.equal(counters.get('homeostat_sampler_ticks_skipped_total'), 2);
  assert.equal(sampler.stats().skipped, 2);
  assert.equal(calls, 3, 'skipped slots are not replayed');
});

test('after a stall of the whole process the sampler skips forward instead of bursting', async () => {
  const { clock, counters, sampler, seen } = make(() => [1]);
  const t0 = clock.t;
  sampler.start();
  await clock.advance(0);
  clock.t += 10_500; // the event loop was blocked for 10.5 s: no timer could fire
  await clock.advance(0);
  await clock.advance(1000);
  sampler.stop();
  assert.deepEqual(seen, [t0, t0 + 10_500, t0 + 11_000]);
  assert.equal(counters.get('homeostat_sampler_ticks_skipped_total'), 9);
});

test('a failing source is counted and logged once per distinct error; sampling goes on', async () => {
  let n = 0;
  const { clock, counters, sampler, seen } = make(() => {
    if (++n <= 3) throw new Error('EIO');
    return [n];
  });
  sampler.start();
  await clock.advance(4_000);
  sampler.stop();
  assert.equal(counters.get('homeostat_sampler_errors_total'), 3);
  assert.equal(seen.length, 2);
});
