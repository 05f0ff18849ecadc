import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { AgentStore, OutboxFullError, type StoreLimits } from '../../../agent/store/store.ts';
import { Counters } from '../../../shared/observe/counters.ts';
import { encode } from '../../../shared/protocol/codec.ts';
import { DatabaseOpenError } from '../../../shared/store/sqlite.ts';

const limits: StoreLimits = {
  samples: { maxAgeHours: 1, maxRows: 100 },
  events: { maxRows: 1000 },
  outbox: { maxEvents: 5, maxTelemetry: 3 },
};

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'homeostat-store-'));
}

const body = { type: 'notice', severity: 'info', summary: 's', data: {} } as const;
const ev = (n: number) => encode('events', { from: 'a', agentId: 'a', body: { ...body, summary: `e${n}` } });
const tel = () =>
  encode('telemetry', {
    from: 'a',
    agentId: 'a',
    body: { from: 0, to: 1, samples: 1, featureVersion: 1, metrics: {}, sampler: { ticks: 1, skipped: 0, errors: 0, tickMsMax: 1 }, outbox: { events: 0, telemetry: 0 }, counters: {} },
  });

test('the outbox keeps events until acked, survives reopening, and refuses (never drops) past the limit', () => {
  const path = join(tmp(), 'agent.db');
  const counters = new Counters();
  let s = new AgentStore(path, limits, counters);
  for (let i = 0; i < 5; i++) s.enqueueEvent(ev(i), i, `c${i}`, { ...body, summary: `e${i}` });
  assert.throws(() => s.enqueueEvent(ev(5), 5, 'c5', body), OutboxFullError);
  assert.equal(counters.get('homeostat_outbox_refused_total', { kind: 'event' }), 1);
  const rows = s.nextOutbox(0, 10);
  assert.deepEqual(rows.map((r) => JSON.parse(r.payload).body.summary), ['e0', 'e1', 'e2', 'e3', 'e4']);
  s.ack(rows[0]!, 100);
  s.close();

  s = new AgentStore(path, limits, new Counters());
  assert.equal(s.count('event'), 4, 'unacked rows survive a restart');
  assert.equal(s.events().filter((e) => e.forwardedAt !== null).length, 1);
  s.close();
});

test('telemetry is thinned at its limit, oldest first, and counted', () => {
  const counters = new Counters();
  const s = new AgentStore(join(tmp(), 'a.db'), limits, counters);
  const ids = Array.from({ length: 5 }, () => tel());
  ids.forEach((o, i) => s.enqueueTelemetry(o, i));
  const left = s.nextOutbox(0, 10).map((r) => r.msgId);
  assert.deepEqual(left, ids.slice(2).map((o) => o.id));
  assert.equal(counters.get('homeostat_outbox_dropped_total', { kind: 'telemetry' }), 2);
  assert.equal(s.count('telemetry'), 3);
  s.close();
});

test('samples are bounded by rows and by age', () => {
  const s = new AgentStore(join(tmp(), 'a.db'), limits, new Counters());
  const t0 = 10 * 3_600_000;
  for (let i = 0; i < 250; i++) s.insertSample(t0 + i * 1000, 1, [i, i + 1]);
  s.pruneSamples(t0 + 249 * 1000);
  assert.equal(s.sampleCount(), 100);
  const got = s.samples(0, Number.MAX_SAFE_INTEGER);
  assert.equal(got[0]!.v[0], 150);
  assert.deepEqual([...got.at(-1)!.v], [249, 250]);
  s.pruneSamples(t0 + 201 * 1000 + 3_600_000);
  assert.equal(s.sampleCount(), 49, 'rows older than maxAgeHours are pruned');
  s.close();
});

test('a corrupt file is refused with a one-line message that says how to recover', () => {
  const path = join(tmp(), 'agent.db');
  writeFileSync(path, 'this is not a database, just text '.repeat(200));
  assert.throws(
    () => new AgentStore(path, limits, new Counters()),
    (e: Error) => e instanceof DatabaseOpenError && /not a usable Homeostat agent database/.test(e.message) && /mv ".*agent\.db"/.test(e.message) && !e.message.includes('\n'),
  );
});

test("another application's sqlite file is refused, not written into", () => {
  const path = join(tmp(), 'other.db');
  const d = new Database(path);
  d.exec('CREATE TABLE customers (id INTEGER)');
  d.close();
  assert.throws(() => new AgentStore(path, limits, new Counters()), /not a Homeostat agent database/);
});

test('a database from a newer build is refused', () => {
  const path = join(tmp(), 'agent.db');
  new AgentStore(path, limits, new Counters()).close();
  const d = new Database(path);
  d.pragma('user_version = 99');
  d.close();
  assert.throws(() => new AgentStore(path, limits, new Counters()), /newer Homeostat \(schema 99/);
});

test('recentRows: the newest normal samples of one feature version, row-major, in time order', () => {
  const s = new AgentStore(join(tmp(), 'a.db'), limits, new Counters());
  for (let i = 0; i < 6; i++) s.insertSample(1000 + i * 1000, 1, [i, 10 * i]);
  s.insertSample(7000, 2, [99, 99]);
  s.markAnomalous(5000, 5000);
  assert.deepEqual([...s.recentRows(3, { excludeAnomalous: true, featureVersion: 1, features: 2 })], [2, 20, 3, 30, 5, 50]);
  assert.deepEqual([...s.recentRows(2, { featureVersion: 1, features: 2 })], [4, 40, 5, 50]);
  s.close();
});
