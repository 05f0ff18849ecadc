// A federated round's local training (agent/learn/participant.ts) runs on the agent's event loop
// in ~10 ms slices: does it delay the sampling tick? The real Sampler (reading /proc) runs at a
// 100 ms interval; the lateness of each tick against its grid slot is measured with no training
// (baseline, same run) and while the participant fine-tunes the base model for a round on 20,000
// samples at learn.cpuShare 0.5 (the default) and 1.0.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_BASE_MODEL_PATH } from '../agent/detect/detector.ts';
import { FleetModelKeeper } from '../agent/learn/fleet-model.ts';
import { Participant, type RoundResult } from '../agent/learn/participant.ts';
import { gaussian, mulberry32 } from '../agent/learn/rng.ts';
import { FEATURE_NAMES, FEATURE_VERSION } from '../agent/sense/features.ts';
import { Sampler } from '../agent/sense/sampler.ts';
import { Counters } from '../shared/observe/counters.ts';
import { silentLogger } from '../shared/observe/log.ts';
import type { RoundBody } from '../shared/protocol/messages.ts';
import { machineLine } from './machine.ts';

const SAMPLES = 20_000;
const INTERVAL_MS = 100;
const F = FEATURE_NAMES.length;
const g = gaussian(mulberry32(3));
const rows = new Float32Array(SAMPLES * F);
for (let i = 0; i < SAMPLES; i++) for (let f = 0; f < F; f++) rows[i * F + f] = 20 + 5 * f + 3 * Math.sin(i / (15 + f)) + 0.3 * g();
const onnx = new Uint8Array(readFileSync(DEFAULT_BASE_MODEL_PATH));
const sha256 = createHash('sha256').update(onnx).digest('hex');

/** Lateness (ms past its grid slot) of every sampler tick while `work` runs, or for `idleMs`. */
async function ticks<T>(work: (() => Promise<T>) | null, idleMs = 4000): Promise<{ late: number[]; skipped: number; result: T | null; wallMs: number; cpuShare: number }> {
  const sampler = new Sampler({ intervalMs: INTERVAL_MS, log: silentLogger, counters: new Counters() });
  const ts: number[] = [];
  sampler.onSample((s) => ts.push(s.ts));
  sampler.start();
  await new Promise((r) => setTimeout(r, 300));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const from = ts.length;
  const result = work ? await work() : (await new Promise((r) => setTimeout(r, idleMs)), null);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const until = ts.length;
  sampler.stop();
  // Slot k is due at ts[0] + k·interval (the first tick fires at start): lateness = ts − due.
  const late = ts.slice(from, until).map((t) => t - ts[0]! - Math.round((t - ts[0]!) / INTERVAL_MS) * INTERVAL_MS);
  return { late, skipped: sampler.stats().skipped, result, wallMs, cpuShare: (cpu.user + cpu.system) / 1000 / wallMs };
}

function round(): RoundBody {
  return {
    roundId: 'r1-bench',
    state: 'open',
    baseVersion: 0,
    baseSha256: sha256,
    openedAt: Date.now(),
    deadline: Date.now() + 600_000,
    minParticipants: 1,
    sampled: ['bench'],
    training: { epochs: 5, learningRate: 1e-3, windowsPerEpoch: 8000, maxSamples: SAMPLES },
    clipNorm: 2,
    noiseMultiplier: 0,
    quantization: 'f16',
    strategy: 'fedavg',
  };
}

const pct = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
const rowsOut: string[] = [];
const line = (name: string, r: Awaited<ReturnType<typeof ticks>>, extra: string) =>
  `| ${name} | ${r.late.length} | ${pct(r.late, 0.5).toFixed(1)} ms | ${pct(r.late, 0.99).toFixed(1)} ms | ${Math.max(0, ...r.late).toFixed(1)} ms | ${r.skipped} | ${(100 * r.cpuShare).toFixed(0)} % | ${extra} |`;
rowsOut.push(line('baseline: no training', await ticks(null), '—'));
for (const cpuShare of [0.5, 1]) {
  const keeper = new FleetModelKeeper({ expect: { featureNames: [...FEATURE_NAMES], featureVersion: FEATURE_VERSION } });
  keeper.offer({ version: 0, roundId: null, sha256, createdAt: 1, onnx: Buffer.from(onnx).toString('base64') });
  let done: (r: RoundResult) => void = () => undefined;
  const finished = new Promise<RoundResult>((r) => (done = r));
  const p = new Participant({ agentId: 'bench', config: { participate: true, minSamples: 1000, cpuShare }, keeper, samples: () => rows, publish: async () => undefined, log: silentLogger, counters: new Counters(), onResult: (r) => done(r) });
  const r = await ticks(async () => {
    p.onRound(round());
    return finished;
  });
  rowsOut.push(line(`round training, cpuShare ${cpuShare}`, r, `${(r.wallMs / 1000).toFixed(1)} s (${r.result?.ok ? 'sent' : r.result?.reason})`));
}

console.log(`## Round training on the agent: sampler tick lateness (bench/participant-jitter.ts)

${machineLine()}

The real sampler (reading /proc) at a ${INTERVAL_MS} ms interval, next to a federated round's local training
(${SAMPLES.toLocaleString('en')} samples, 5 epochs of 8,000 windows, the base model) and without it (baseline,
same run). Lateness is each tick's time past its grid slot. Training yields every 10 ms and rests to keep its
average CPU at \`learn.cpuShare\` of one core.

| run | ticks | lateness p50 | p99 | max | skipped slots | process CPU | training wall time |
|---|---|---|---|---|---|---|---|
${rowsOut.join('\n')}`);
