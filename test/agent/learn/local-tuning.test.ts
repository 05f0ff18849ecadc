import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_BASE_MODEL_PATH, Detector } from '../../../agent/detect/detector.ts';
import { LocalTuner, LocalTuningConfigSchema } from '../../../agent/learn/local-tuning.ts';
import { gaussian, mulberry32 } from '../../../agent/learn/rng.ts';
import { FEATURE_NAMES, FEATURE_VERSION } from '../../../agent/sense/features.ts';
import { AgentStore } from '../../../agent/store/store.ts';
import { Counters } from '../../../shared/observe/counters.ts';
import { silentLogger } from '../../../shared/observe/log.ts';
import type { EventBody } from '../../../shared/protocol/messages.ts';

const dir = mkdtempSync(join(tmpdir(), 'local-tuning-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const F = FEATURE_NAMES.length;
/** A host whose features wander smoothly around their own levels (not the base model's host). */
function fillStore(store: AgentStore, n: number, anomalousFrom?: number): void {
  const g = gaussian(mulberry32(7));
  for (let i = 0; i < n; i++) {
    const v = Array.from({ length: F }, (_, f) => 20 + 5 * f + 3 * Math.sin(i / (15 + f)) + 0.3 * g());
    store.insertSample(1_000_000 + i * 1000, FEATURE_VERSION, v);
  }
  if (anomalousFrom !== undefined) store.markAnomalous(1_000_000 + anomalousFrom * 1000, 1_000_000 + n * 1000);
}

function setup(name: string, samples: number, config: Record<string, unknown> = {}) {
  const counters = new Counters();
  const store = new AgentStore(join(dir, `${name}.db`), { samples: { maxAgeHours: 24 * 365 * 100, maxRows: 1_000_000 }, events: { maxRows: 1000 }, outbox: { maxEvents: 1000, maxTelemetry: 10 } }, counters);
  fillStore(store, samples, samples - 100);
  const modelDir = join(dir, name, 'models');
  const detector = new Detector({ expect: { featureNames: [...FEATURE_NAMES], featureVersion: FEATURE_VERSION }, baseModelPath: DEFAULT_BASE_MODEL_PATH, learnedModelPath: join(modelDir, 'current.onnx'), log: silentLogger, counters, onAnomaly: () => {} });
  const events: EventBody[] = [];
  const tuner = new LocalTuner({ config: LocalTuningConfigSchema.parse({ minSamples: 600, epochs: 2, cpuShare: 1, ...config }), store, detector, featureVersion: FEATURE_VERSION, modelDir, emit: (e) => events.push(e), log: silentLogger, counters });
  return { store, detector, tuner, events, modelDir, counters };
}

test('retrains on its own normal samples, swaps the model in hot, and keeps it across a restart', async () => {
  const s = setup('ok', 1500);
  await s.detector.start();
  assert.equal(s.detector.status().modelOrigin, 'base');
  const r = await s.tuner.runOnce();
  assert.ok(r.ok, JSON.stringify(r));
  assert.match(r.version, /^local-\d{8}T\d{6}$/);
  assert.equal(r.samples, 1400, 'the 100 samples inside an anomaly are left out');
  assert.equal(s.detector.status().modelVersion, r.version);
  assert.ok(r.fprCandidate <= r.fprCurrent + 0.02);
  // The node's own normalisation, not the base model's.
  const m = s.detector.currentModel()!.model;
  assert.ok(Math.abs(m.mean[0]! - 20) < 1, `mean[0] = ${m.mean[0]}`);
  assert.equal(s.events.length, 1);
  assert.match(s.events[0]!.summary, /model retrained on 1400 local normal samples/);
  await s.detector.stop();
  assert.ok(existsSync(join(s.modelDir, 'current.onnx')));
  const again = setup('ok', 0);
  // Same model dir: a restarted agent runs its retrained model, not the base one.
  const restarted = new Detector({ expect: { featureNames: [...FEATURE_NAMES], featureVersion: FEATURE_VERSION }, baseModelPath: DEFAULT_BASE_MODEL_PATH, learnedModelPath: join(s.modelDir, 'current.onnx'), log: silentLogger, counters: again.counters, onAnomaly: () => {} });
  await restarted.start();
  assert.equal(restarted.status().modelOrigin, 'learned');
  assert.equal(restarted.status().modelVersion, r.version);
  await restarted.stop();
  s.store.close();
  again.store.close();
});

test('too little normal data: skipped and said so, the model unchanged', async () => {
  const s = setup('few', 500);
  await s.detector.start();
  const r = await s.tuner.runOnce();
  assert.deepEqual(r, { ok: false, reason: 'not_enough_data', detail: '400 normal samples, 600 needed' });
  assert.equal(s.detector.status().modelOrigin, 'base');
  assert.equal(s.counters.snapshot().homeostat_learn_local_runs_total![0]!.labels.result, 'not_enough_data');
  await s.detector.stop();
  s.store.close();
});

test('stop() ends a retrain in progress at its next slice: cancelled, the model unchanged, nothing saved', async () => {
  const s = setup('stop', 1500, { epochs: 50, cpuShare: 0.2 });
  await s.detector.start();
  const run = s.tuner.runOnce();
  await new Promise((r) => setTimeout(r, 100));
  await s.tuner.stop();
  assert.deepEqual(await run, { ok: false, reason: 'cancelled', detail: 'the agent is stopping' });
  assert.equal(s.detector.status().modelOrigin, 'base');
  assert.equal(existsSync(join(s.modelDir, 'current.onnx')), false);
  assert.deepEqual(s.events, [], 'a stop is not news');
  await s.detector.stop();
  s.store.close();
});
