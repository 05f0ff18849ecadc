// Local retraining in the background (agent/learn/local-tuning.ts): does it delay the sampling
// tick, and does it keep to its CPU share? A 1 s timer stands in for the sampler; its lateness is
// measured with no training (baseline, same run) and while a retrain on 20,000 samples runs at
// cpuShare 0.25 and 1.0. CPU share = process CPU time / wall time during the retrain.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BASE_MODEL_PATH, Detector } from '../agent/detect/detector.ts';
import { LocalTuner, LocalTuningConfigSchema } from '../agent/learn/local-tuning.ts';
import { gaussian, mulberry32 } from '../agent/learn/rng.ts';
import { FEATURE_NAMES, FEATURE_VERSION } from '../agent/sense/features.ts';
import { AgentStore } from '../agent/store/store.ts';
import { Counters } from '../shared/observe/counters.ts';
import { silentLogger } from '../shared/observe/log.ts';
import { machineLine } from './machine.ts';

const SAMPLES = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'bench-bg-train-'));
const counters = new Counters();
const store = new AgentStore(join(dir, 'a.db'), { samples: { maxAgeHours: 24 * 365 * 100, maxRows: 1_000_000 }, events: { maxRows: 100 }, outbox: { maxEvents: 100, maxTelemetry: 10 } }, counters);
const g = gaussian(mulberry32(3));
const F = FEATURE_NAMES.length;
for (let i = 0; i < SAMPLES; i++) store.insertSample(1_000_000 + i * 1000, FEATURE_VERSION, Array.from({ length: F }, (_, f) => 20 + 5 * f + 3 * Math.sin(i / (15 + f)) + 0.3 * g()));

/** Lateness of a 1 s timer (ms past its due time) while `work` runs, or for `idleMs` without it. */
async function lateness<T>(work: (() => Promise<T>) | null, idleMs = 10_000): Promise<{ max: number; mean: number; ticks: number; result: T | null; cpuShare: number; wallMs: number }> {
  const late: number[] = [];
  let due = performance.now() + 1000;
  let timer: NodeJS.Timeout;
  const tick = () => {
    const now = performance.now();
    late.push(now - due);
    due += 1000;
    timer = setTimeout(tick, Math.max(0, due - performance.now()));
  };
  timer = setTimeout(tick, 1000);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = work ? await work() : (await new Promise((r) => setTimeout(r, idleMs)), null);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearTimeout(timer!);
  return { max: Math.max(0, ...late), mean: late.reduce((a, b) => a + b, 0) / Math.max(1, late.length), ticks: late.length, result, cpuShare: (cpu.user + cpu.system) / 1000 / wallMs, wallMs };
}

const rows: string[] = [];
const idle = await lateness(null);
rows.push(`| baseline: no training | ${idle.ticks} | ${idle.mean.toFixed(1)} ms | ${idle.max.toFixed(1)} ms | ${(100 * idle.cpuShare).toFixed(1)} % | — |`);
for (const share of [0.25, 1]) {
  const detector = new Detector({ expect: { featureNames: [...FEATURE_NAMES], featureVersion: FEATURE_VERSION }, baseModelPath: DEFAULT_BASE_MODEL_PATH, log: silentLogger, counters, onAnomaly: () => {} });
  await detector.start();
  const tuner = new LocalTuner({ config: LocalTuningConfigSchema.parse({ minSamples: 1000, maxSamples: SAMPLES, epochs: 3, cpuShare: share }), store, detector, featureVersion: FEATURE_VERSION, modelDir: join(dir, `m-${share}`), emit: () => {}, log: silentLogger, counters });
  const r = await lateness(() => tuner.runOnce());
  await detector.stop();
  rows.push(`| retrain, cpuShare ${share} | ${r.ticks} | ${r.mean.toFixed(1)} ms | ${r.max.toFixed(1)} ms | ${(100 * r.cpuShare).toFixed(1)} % | ${(r.wallMs / 1000).toFixed(1)} s (${r.result?.ok ? 'accepted' : r.result?.reason}) |`);
}
store.close();
rmSync(dir, { recursive: true, force: true });

console.log(`## Background retraining: tick lateness and CPU share (bench/background-training.ts)

${machineLine()}

A retrain on ${SAMPLES.toLocaleString('en')} local samples (3 epochs, then the acceptance test on the held-out 20 %),
next to the same 1 s timer with nothing running (baseline, same run). Training yields every 10 ms and
rests to keep its average CPU at \`detect.tuning.cpuShare\` of one core.

| run | ticks | timer lateness (mean) | timer lateness (max) | process CPU | retrain wall time |
|---|---|---|---|---|---|
${rows.join('\n')}`);
