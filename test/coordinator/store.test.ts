import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorStore } from '../../coordinator/store/store.ts';
import { newMessageId } from '../../shared/protocol/ids.ts';
import { DatabaseOpenError } from '../../shared/store/sqlite.ts';

const path = () => join(mkdtempSync(join(tmpdir(), 'homeostat-cstore-')), 'coordinator.db');
const status = (state: 'online' | 'offline', reason: 'start' | 'lwt') =>
  ({ state, reason, agentVersion: '1', featureVersion: 1, modelVersion: null, policyVersion: null, cohort: 'c', host: { hostname: 'h', platform: 'linux', arch: 'x64', cores: 1 }, startedAt: 1 }) as const;
const ev = { type: 'notice', severity: 'info', summary: 's', data: {} } as const;

test('events and telemetry are stored once per message id', () => {
  const s = new CoordinatorStore(path(), { telemetryRows: 1000, eventRows: 1000 });
  const id = newMessageId();
  assert.equal(s.addEvent(id, 'a', id, 1, ev, 2), true);
  assert.equal(s.addEvent(id, 'a', id, 1, ev, 3), false);
  assert.equal(s.eventCount('a'), 1);
  s.close();
});

test('a Last Will built before the online status still wins, because it arrives after it', () => {
  const s = new CoordinatorStore(path(), { telemetryRows: 1000, eventRows: 1000 });
  s.applyStatus('a', 2000, status('online', 'start'));
  s.applyStatus('a', 1999, status('offline', 'lwt'));
  assert.equal(s.agent('a')!.state, 'offline');
  assert.equal(s.agent('a')!.lastSeen, 2000, 'last seen never goes backwards');
  s.close();
});

test('telemetry keeps the latest summary on the agent and is pruned to the retention', () => {
  const s = new CoordinatorStore(path(), { telemetryRows: 100, eventRows: 100 });
  const body = (n: number) => ({ from: n, to: n, samples: 1, featureVersion: 1, metrics: { x: { min: n, max: n, mean: n, last: n } }, sampler: { ticks: 1, skipped: 0, errors: 0, tickMsMax: 1 }, outbox: { events: 0, telemetry: 0 }, counters: {} });
  for (let i = 0; i < 600; i++) s.addTelemetry(newMessageId(), 'a', i, body(i));
  assert.equal(s.agent('a')!.latestTelemetry!.metrics.x!.last, 599);
  const n = (s.db.prepare('SELECT count(*) AS n FROM telemetry').get() as { n: number }).n;
  assert.ok(n <= 600 && n >= 100, `pruned in batches to about the retention (${n})`);
  assert.equal((s.db.prepare('SELECT min(ts) AS t FROM telemetry').get() as { t: number }).t >= 400, true, 'the oldest rows went first');
  s.close();
});

test('a corrupt coordinator database is refused with the recovery in one line', () => {
  const p = path();
  writeFileSync(p, 'not sqlite at all '.repeat(100));
  assert.throws(() => new CoordinatorStore(p, { telemetryRows: 100, eventRows: 100 }), (e: Error) => e instanceof DatabaseOpenError && /coordinator\.db.*mv /.test(e.message) && !e.message.includes('\n'));
});
