import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BASE_MODEL_PATH } from '../../../agent/detect/detector.ts';
import { FederationConfigSchema, type FederationConfig } from '../../../coordinator/federation/config.ts';
import { RoundStore } from '../../../coordinator/federation/round-store.ts';
import { CLOSE_RETRY_MS, RoundRefused, Rounds } from '../../../coordinator/federation/rounds.ts';
import { CoordinatorStore } from '../../../coordinator/store/store.ts';
import { flattenWeights } from '../../../models/autoencoder/weights.ts';
import { readAutoencoder } from '../../../models/onnx/reader.ts';
import { encodeUpdate, type Update } from '../../../shared/federation/update-codec.ts';
import { Counters } from '../../../shared/observe/counters.ts';
import { silentLogger } from '../../../shared/observe/log.ts';
import type { ModelBody, RoundBody } from '../../../shared/protocol/messages.ts';
import { REJECTED_METRIC } from '../../../shared/protocol/router.ts';
import { FakeClock } from '../../support/fake-clock.ts';

type Published = { key: 'rounds'; body: RoundBody } | { key: 'model'; body: ModelBody };

interface Harness {
  rounds: Rounds;
  store: RoundStore;
  db: CoordinatorStore;
  clock: FakeClock;
  counters: Counters;
  published: Published[];
  online: Set<string>;
  close(): Promise<void>;
}

const BASE = readAutoencoder(readFileSync(DEFAULT_BASE_MODEL_PATH)).model;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rounds-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function harness(file: string, config: Partial<FederationConfig> = {}, clock = new FakeClock(), online = new Set(['a1', 'a2', 'a3'])): Harness {
  const db = new CoordinatorStore(join(dir, file), { telemetryRows: 1000, eventRows: 1000 });
  const store = new RoundStore(db.db);
  const counters = new Counters();
  const published: Published[] = [];
  const rounds = new Rounds({
    config: FederationConfigSchema.parse({ minParticipants: 2, deadlineSec: 60, ...config }),
    store,
    candidates: () => [...online],
    isOnline: (id) => online.has(id),
    publish: async (m) => {
      published.push(m);
    },
    log: silentLogger,
    counters,
    clock,
    rand: () => 0.5,
  });
  rounds.start();
  return {
    rounds,
    store,
    db,
    clock,
    counters,
    published,
    online,
    close: async () => {
      await rounds.stop();
      db.close();
    },
  };
}

/** An update shaped like the base model's shared weights, every value `v`. */
function update(roundId: string, agentId: string, v = 0.01, over: Partial<Update> = {}): { u: Update; bytes: Uint8Array } {
  const tensors = flattenWeights(BASE).map((t) => ({ ...t, data: new Float32Array(t.data.length).fill(v) }));
  const u: Update = { roundId, agentId, baseVersion: 0, numSamples: 100, quantization: 'f32', clipNorm: null, noiseMultiplier: 0, tensors, ...over };
  return { u, bytes: encodeUpdate(u) };
}

function send(h: Harness, x: { u: Update; bytes: Uint8Array }): void {
  h.rounds.onUpdate(x.u, x.bytes);
}

const rejected = (h: Harness): Record<string, number> =>
  Object.fromEntries((h.counters.snapshot()[REJECTED_METRIC] ?? []).filter((s) => s.labels.topic === 'updates').map((s) => [s.labels.reason!, s.value]));

describe('federated rounds', () => {
  it('does not open a round with fewer online agents than the minimum, and says so', async () => {
    const h = harness('few.db', { minParticipants: 4 });
    await assert.rejects(h.rounds.startRound(), (e: Error) => e instanceof RoundRefused && /3 agent\(s\) online, federation.minParticipants is 4/.test(e.message));
    await h.close();
  });

  it('announce → collect → aggregate → publish the next model at the deadline; its file keeps the base normalisation', async () => {
    const h = harness('happy.db');
    const r = await h.rounds.startRound();
    const announce = h.published.find((p) => p.key === 'rounds')!.body as RoundBody;
    assert.equal(announce.state, 'open');
    assert.deepEqual(announce.sampled, ['a1', 'a2', 'a3']);
    assert.equal(announce.baseVersion, 0);
    await assert.rejects(h.rounds.startRound(), RoundRefused, 'one round at a time');
    send(h, update(r.id, 'a1', 0.01));
    send(h, update(r.id, 'a2', 0.03));
    await h.clock.advance(59_000);
    assert.equal(h.store.round(r.id)!.state, 'open', 'still collecting before the deadline');
    await h.clock.advance(2_000);
    const closed = h.store.round(r.id)!;
    assert.equal(closed.outcome, 'published', closed.note ?? '');
    assert.equal(closed.modelVersion, 1);
    assert.deepEqual(closed.summary!.used, ['a1', 'a2']);
    assert.deepEqual(closed.summary!.failures, [{ agentId: 'a3', reason: 'no update by the deadline' }]);
    const model = h.published.find((p) => p.key === 'model')!.body as ModelBody;
    assert.equal(model.version, 1);
    const next = readAutoencoder(Buffer.from(model.onnx, 'base64'));
    assert.equal(next.meta.version, 'global-v1');
    assert.deepEqual(next.model.mean, BASE.mean, 'mean is carried over from the base, not learned');
    assert.deepEqual(next.model.std, BASE.std);
    const w = next.model.layers[0]!.weight;
    assert.ok(Math.abs(w[0]! - (BASE.layers[0]!.weight[0]! + 0.02)) < 1e-6, 'fedavg of 0.01 and 0.03 with equal samples');
    const last = h.published.at(-1)!;
    assert.equal(last.key, 'rounds');
    assert.equal((last.body as RoundBody).state, 'closed');
    await h.close();
  });

  it('closes early once every sampled agent has reported', async () => {
    const h = harness('early.db', {}, new FakeClock(), new Set(['a1', 'a2']));
    const r = await h.rounds.startRound();
    send(h, update(r.id, 'a1'));
    send(h, update(r.id, 'a2'));
    await h.clock.advance(0);
    assert.equal(h.store.round(r.id)!.outcome, 'published');
    await h.close();
  });

  it('a sampled agent that declines is a failure with its reason, and the round does not wait for it; other declines are ignored', async () => {
    const h = harness('decline.db', { minParticipants: 1 }, new FakeClock(), new Set(['a1', 'a2']));
    const r = await h.rounds.startRound();
    const decline = (agent: string, roundId: string, type: 'notice' | 'action' = 'notice') =>
      h.rounds.onEvent(agent, { type, severity: 'info', summary: 'sat out', data: { roundDecline: { roundId, reason: 'not_enough_data', detail: '12 normal samples, learn.minSamples is 1800' } } });
    decline('a2', 'r-other');
    decline('a9', r.id);
    decline('a2', r.id, 'action');
    h.rounds.onEvent('a2', { type: 'notice', severity: 'info', summary: 'malformed', data: { roundDecline: { roundId: r.id } } });
    send(h, update(r.id, 'a1'));
    await h.clock.advance(0);
    assert.equal(h.store.round(r.id)!.state, 'open', 'only a well-formed notice from a sampled agent for this round counts');
    decline('a2', r.id);
    await h.clock.advance(0);
    const closed = h.store.round(r.id)!;
    assert.equal(closed.outcome, 'published', closed.note ?? '');
    assert.match(closed.note!, /^every sampled agent reported or declined/);
    assert.deepEqual(closed.summary!.failures, [{ agentId: 'a2', reason: 'sat the round out (not_enough_data: 12 normal samples, learn.minSamples is 1800)' }]);
    assert.equal(h.counters.snapshot()['homeostat_fed_declines_total']?.[0]?.value, 1);
    assert.deepEqual(rejected(h), {}, 'a decline is not a rejected message');
    await h.close();
  });

  it('a round whose closing fails (a full disk) is closed again later, not left open for ever', async () => {
    const h = harness('close-fails.db', {}, new FakeClock(), new Set(['a1', 'a2']));
    const r = await h.rounds.startRound();
    send(h, update(r.id, 'a1'));
    const closeRound = h.store.closeRound.bind(h.store);
    let failures = 1;
    h.store.closeRound = (c) => {
      if (failures-- > 0) throw new Error('SQLITE_FULL: database or disk is full');
      closeRound(c);
    };
    await h.clock.advance(60_000 + 10);
    assert.equal(h.store.round(r.id)!.state, 'open', 'the first close failed');
    await h.clock.advance(CLOSE_RETRY_MS);
    assert.equal(h.store.round(r.id)!.state, 'closed');
    assert.equal(h.store.round(r.id)!.outcome, 'below_minimum');
    await h.close();
  });

  it('refuses, records and counts: wrong round, not sampled, duplicate, wrong base, wrong shape, late', async () => {
    const h = harness('reject.db', { sampleFraction: 0.5 }, new FakeClock(), new Set(['a1', 'a2', 'a3', 'a4']));
    const r = await h.rounds.startRound();
    const sampled = h.rounds.current()!.announce.sampled;
    assert.equal(sampled.length, 2);
    const [s1, s2] = sampled as [string, string];
    const outsider = ['a1', 'a2', 'a3', 'a4'].find((a) => !sampled.includes(a))!;
    send(h, update('r99-zz', s1));
    send(h, update(r.id, outsider));
    send(h, update(r.id, s1, 0.01, { baseVersion: 7 }));
    const bad = update(r.id, s1);
    bad.u.tensors[0] = { ...bad.u.tensors[0]!, dims: [1, bad.u.tensors[0]!.data.length], name: bad.u.tensors[0]!.name };
    send(h, { u: bad.u, bytes: encodeUpdate(bad.u) });
    send(h, update(r.id, s1));
    send(h, update(r.id, s1));
    await h.clock.advance(60_002);
    send(h, update(r.id, s2));
    await h.clock.advance(10);
    assert.equal(h.store.round(r.id)!.state, 'closed');
    send(h, update(r.id, s2));
    assert.deepEqual(rejected(h), { wrong_round: 2, not_sampled: 1, wrong_base: 1, wrong_shape: 1, duplicate: 1, late: 1 });
    assert.deepEqual(
      h.store.rejections(r.id).map((x) => x.reason),
      ['not_sampled', 'wrong_base', 'wrong_shape', 'duplicate', 'late', 'wrong_round'],
    );
    assert.match(h.store.rejections('r99-zz')[0]!.detail, /the open round is r1-/);
    const closed = h.store.round(r.id)!;
    assert.equal(closed.outcome, 'below_minimum', 'one usable update, two needed');
    assert.match(closed.note!, /1 usable result\(s\), at least 2 needed/);
    assert.match(closed.summary!.failures[0]!.reason, /its update was refused \(late\)/);
    await h.close();
  });

  it('a coordinator restarted mid-round resumes it: the updates stored before count, the deadline still holds', async () => {
    const clock = new FakeClock();
    const first = harness('restart.db', {}, clock);
    const r = await first.rounds.startRound();
    send(first, update(r.id, 'a1', 0.01));
    await first.close();
    await clock.advance(10_000);
    const second = harness('restart.db', {}, clock);
    assert.equal(second.rounds.current()?.id, r.id, 'the open round is resumed');
    await second.rounds.republish();
    assert.deepEqual(second.published.map((p) => p.key), ['model', 'rounds'], 'model and round republished for a broker that forgot them');
    send(second, update(r.id, 'a2', 0.03));
    send(second, update(r.id, 'a1', 0.05));
    assert.deepEqual(rejected(second), { duplicate: 1 }, 'the update stored before the restart still counts as sent');
    await clock.advance(51_000);
    const closed = second.store.round(r.id)!;
    assert.equal(closed.outcome, 'published');
    assert.deepEqual(closed.summary!.used, ['a1', 'a2']);
    await second.close();
  });

  it('a round whose deadline passed while the coordinator was down is closed at start, without a model when too few reported', async () => {
    const clock = new FakeClock();
    const first = harness('down.db', {}, clock);
    const r = await first.rounds.startRound();
    send(first, update(r.id, 'a1'));
    await first.close();
    await clock.advance(3_600_000);
    const online = new Set(['a1', 'a2']);
    const second = harness('down.db', {}, clock, online);
    await clock.advance(0);
    const closed = second.store.round(r.id)!;
    assert.equal(closed.state, 'closed');
    assert.equal(closed.outcome, 'below_minimum');
    assert.match(closed.note!, /deadline passed while the coordinator was down/);
    assert.deepEqual(
      closed.summary!.failures.map((f) => `${f.agentId}: ${f.reason}`),
      ['a2: no update by the deadline', 'a3: offline (disconnected) without sending an update'],
    );
    assert.equal(second.published.filter((p) => p.key === 'model').length, 0, 'no new model');
    assert.equal(second.rounds.models.current().version, 0);
    await second.close();
  });

  it('with federation.everyMin, rounds start on schedule after the last one closed; without it, never on their own', async () => {
    const clock = new FakeClock();
    const h = harness('schedule.db', { everyMin: 10 }, clock, new Set(['a1', 'a2']));
    await clock.advance(9 * 60_000);
    assert.equal(h.rounds.current(), null);
    await clock.advance(60_000 + 1);
    const r = h.rounds.current();
    assert.ok(r, 'a round opened after 10 minutes');
    await clock.advance(61_000);
    assert.equal(h.store.round(r.id)!.state, 'closed');
    await clock.advance(10 * 60_000 + 1);
    assert.notEqual(h.rounds.current()?.id ?? null, null, 'the next one opened 10 minutes after the close');
    await h.close();
    const manual = harness('manual.db', {}, clock);
    await clock.advance(24 * 3_600_000);
    assert.equal(manual.rounds.current(), null);
    await manual.close();
  });
});
