// The fleet simulation on real data (npm run fed:sim): one agent per SMD machine, each training
// only on its own machine's train split, and a real coordinator over a real broker. Reports the
// federated model against each agent's local-only model and one model trained centrally on all
// machines, then the same federation with 1 and 2 of 7 agents poisoned, under four strategies.
// Writes <out>/results.json, <out>/fed-sim.svg and <out>/report.md (the tables for docs/federation.md).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../agent/learn/rng.ts';
import { DEFAULT_TRAIN, train } from '../agent/learn/trainer.ts';
import { STRATEGY_NAMES, type StrategyName } from '../coordinator/federation/config.ts';
import type { AutoencoderModel } from '../models/autoencoder/spec.ts';
import { listMachines, loadMachine, type SmdMachine } from '../models/eval/smd.ts';
import { buildOnnx } from '../models/onnx/builder.ts';
import { machineLine, median } from '../bench/machine.ts';
import { localNormalisation, type MachineFigures } from './fed-sim/evaluate.ts';
import { linePanels, type Panel } from './fed-sim/plot.ts';
import { fleetFigures, pick, runFederation, type FederationRun } from './fed-sim/run-federation.ts';
import { ATTACKS, SIM_MIN_SAMPLES, type Attack } from './fed-sim/sim-agent.ts';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/datasets/smd' },
    out: { type: 'string', default: 'docs/fed-sim' },
    rounds: { type: 'string', default: '20' },
    'attack-rounds': { type: 'string', default: '3' },
    epochs: { type: 'string', default: '2' },
    windows: { type: 'string', default: '2000' },
    lr: { type: 'string', default: String(DEFAULT_TRAIN.learningRate) },
    'max-rows': { type: 'string' },
    seed: { type: 'string', default: '1' },
  },
});
const R = Number(a.rounds);
const RP = Number(a['attack-rounds']);
const training = { epochs: Number(a.epochs), learningRate: Number(a.lr), windowsPerEpoch: Number(a.windows), maxSamples: 100_000 };
const maxRows = a['max-rows'] ? Number(a['max-rows']) : undefined;
if (maxRows !== undefined && !(maxRows >= SIM_MIN_SAMPLES)) {
  process.stderr.write(`fed-sim: --max-rows must be at least ${SIM_MIN_SAMPLES}: with fewer rows every agent sits each round out and the rounds only end at their deadlines\n`);
  process.exit(2);
}
const t0 = performance.now();
const say = (msg: string) => process.stderr.write(`fed-sim [${((performance.now() - t0) / 1000).toFixed(0)} s] ${msg}\n`);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
const f3 = (x: number) => x.toFixed(3);

const machines: SmdMachine[] = listMachines(a.data!).map((n) => loadMachine(a.data!, n, maxRows));
const F = machines[0]!.features;
const featureNames = Array.from({ length: F }, (_, i) => `f${i + 1}`);
const expect = { featureNames, featureVersion: 1 };
const norms = new Map(machines.map((m) => [m.name, localNormalisation(m)]));
const work = mkdtempSync(join(tmpdir(), 'fed-sim-models-'));

/** Rows standardised with their machine's own mean/std: what each agent's model sees inside the graph. */
function standardised(m: SmdMachine): Float32Array {
  const { mean: mu, std } = norms.get(m.name)!;
  return m.train.map((v, i) => (v - mu[i % F]!) / std[i % F]!);
}
const identity = { mean: new Float32Array(F), std: new Float32Array(F).fill(1) };
const writeModel = (name: string, m: AutoencoderModel) => {
  const p = join(work, `${name}.onnx`);
  writeFileSync(p, buildOnnx(m, { version: name }));
  return p;
};

// Local-only: each machine trains alone, from scratch, with the detector's defaults.
const localFigs: Record<string, MachineFigures> = {};
for (const m of machines) {
  say(`local-only model for ${m.name}`);
  const model = await train(m.train, F, { featureNames, seed: Number(a.seed) });
  Object.assign(localFigs, await fleetFigures(model, [m], new Map([[m.name, { mean: model.mean, std: model.std }]])));
}
const local = pick(localFigs, 'f1');

// The fleet's starting point (version 0): a seeded random initialisation, identity normalisation
// in the file (each agent standardises with its own statistics, as in every federated model here).
const init = { ...(await train(standardised(machines[0]!), F, { featureNames, epochs: 0, seed: Number(a.seed) })), ...identity };
const v0Path = writeModel('fed-v0', init);

// Central: one model on every machine's train split pooled, each machine standardised with its
// own statistics (the same per-node normalisation the federation uses), from the same start.
say('central model on all machines');
const pooled = new Float32Array(machines.reduce((s, m) => s + m.train.length, 0));
let at = 0;
for (const m of machines) {
  pooled.set(standardised(m), at);
  at += m.train.length;
}
const central = await train(pooled, F, { featureNames, seed: Number(a.seed) }, init);
const centralFigs = await fleetFigures(central, machines, norms);
const centralF1 = pick(centralFigs, 'f1');
const baseFigs = await fleetFigures(init, machines, norms);

// Phase 1: clean FedAvg from the random start, R rounds.
say(`clean federation: fedavg, ${R} rounds`);
const clean = await runFederation({
  machines,
  norms,
  expect,
  baseModelPath: v0Path,
  base: baseFigs,
  strategy: 'fedavg',
  rounds: R,
  training,
  clipNorm: null,
  minParticipants: 4,
  trimBeta: 0.3,
  onRound: (r) => say(`  round ${r.round}: mean best-F1 ${f3(r.meanF1)}, normal error ${f3(r.meanNormalError)} (${r.outcome}), ${(r.durationMs / 1000).toFixed(1)} s`),
});

// Phase 2: from the clean federation's model, RP more rounds per strategy, with 0, 1 and 2
// poisoned agents per attack. Honest agents clip at the median honest update norm of the last
// clean round; clipped-fedavg enforces that bound at the coordinator too.
const clipNorm = median(clean.rounds.at(-1)!.honestNorms);
const gPath = writeModel('fed-g', clean.final);
const lastRound = clean.rounds.at(-1)!;
const gFigs: Record<string, MachineFigures> = Object.fromEntries(machines.map((m) => [m.name, { f1: lastRound.f1[m.name]!, normalError: lastRound.normalError[m.name]! }]));
// Poisoned agents: the first one or two machines of a seeded shuffle, the same in every run.
const shuffleRand = mulberry32(Number(a.seed));
const order = machines.map((m) => m.name);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(shuffleRand() * (i + 1));
  [order[i], order[j]] = [order[j]!, order[i]!];
}
const scenarios: Array<{ label: string; k: number; attack: Attack | null }> = [{ label: 'clean', k: 0, attack: null }, ...[1, 2].flatMap((k) => ATTACKS.map((attack) => ({ label: `${k} ${attack}`, k, attack })))];
const robust: Array<{ strategy: StrategyName; scenario: string; k: number; attack: Attack | null; run: FederationRun }> = [];
for (const strategy of STRATEGY_NAMES) {
  for (const s of scenarios) {
    const poisoned = Object.fromEntries(order.slice(0, s.k).map((id) => [id, s.attack!]));
    say(`${strategy}, ${s.label}: ${RP} rounds from the clean model`);
    const run = await runFederation({ machines, norms, expect, baseModelPath: gPath, base: gFigs, strategy, rounds: RP, training, clipNorm, minParticipants: 4, trimBeta: 0.3, poisoned });
    say(`  mean best-F1 ${run.meanF1.map(f3).join(' → ')}; normal error ${run.meanNormalError.map(f3).join(' → ')}`);
    robust.push({ strategy, scenario: s.label, k: s.k, attack: s.attack, run });
  }
}
rmSync(work, { recursive: true, force: true });

// ---- report ---------------------------------------------------------------------------------
const localMean = mean(Object.values(local));
const centralMean = mean(Object.values(centralF1));
const localErr = mean(Object.values(pick(localFigs, 'normalError')));
const centralErr = mean(Object.values(pick(centralFigs, 'normalError')));
const lastClean = clean.rounds.at(-1)!;
const lines: string[] = [];
lines.push(`${machineLine()}; ${((performance.now() - t0) / 60_000).toFixed(1)} min`);
lines.push('', `Command: \`npm run fed:sim -- --rounds ${R} --attack-rounds ${RP} --epochs ${training.epochs} --windows ${training.windowsPerEpoch} --lr ${training.learningRate}${maxRows ? ` --max-rows ${maxRows}` : ''}\``);
lines.push(
  '',
  `Per round, clean FedAvg of ${machines.length} agents from a random start. F1: mean point-wise best-F1 over the machines' test splits, each machine with its own normalisation. Normal error: mean over machines of the median score of test windows labelled normal (lower = normal behaviour reconstructed better). Bytes are HSU1 f16 updates; the duration is the coordinator's, announcement to close, with all ${machines.length} agents training one after another in this one process:`,
  '',
);
lines.push('| round | F1 global | F1 local-only | F1 central | normal error global | local-only | central | bytes per agent | round duration | agent training (median) |', '|---|---|---|---|---|---|---|---|---|---|');
lines.push(`| 0 (random start) | ${f3(clean.meanF1[0]!)} | ${f3(localMean)} | ${f3(centralMean)} | ${f3(clean.meanNormalError[0]!)} | ${f3(localErr)} | ${f3(centralErr)} | — | — | — |`);
for (const r of clean.rounds) {
  lines.push(`| ${r.round} | ${f3(r.meanF1)} | ${f3(localMean)} | ${f3(centralMean)} | ${f3(r.meanNormalError)} | ${f3(localErr)} | ${f3(centralErr)} | ${Math.round(median(Object.values(r.bytes))).toLocaleString('en')} B | ${(r.durationMs / 1000).toFixed(1)} s | ${(median(r.agentMs) / 1000).toFixed(2)} s |`);
}
lines.push('', `Per machine after round ${R} (best-F1; normal error in brackets):`, '', '| machine | global model (own normalisation) | local-only | central |', '|---|---|---|---|');
const cell = (f1: number, err: number) => `${f3(f1)} (${f3(err)})`;
for (const m of machines) lines.push(`| ${m.name} | ${cell(lastClean.f1[m.name]!, lastClean.normalError[m.name]!)} | ${cell(local[m.name]!, localFigs[m.name]!.normalError)} | ${cell(centralF1[m.name]!, centralFigs[m.name]!.normalError)} |`);
lines.push(`| **mean** | **${cell(lastClean.meanF1, lastClean.meanNormalError)}** | **${cell(localMean, localErr)}** | **${cell(centralMean, centralErr)}** |`);
lines.push(
  '',
  `Robustness: ${RP} more rounds from the clean model (mean best-F1 ${f3(lastClean.meanF1)}), honest agents clipping at C = ${clipNorm.toFixed(3)} (the median honest update norm of round ${R}); trimmed mean β = 0.3; poisoned agents: ${order.slice(0, 2).join(', ')} (the first only, for 1). Mean best-F1 after round ${RP}, its change against the same strategy without attackers, and the worst F1 of any of the ${RP} rounds:`,
  '',
);
const table = (value: (run: FederationRun) => string, refText: (run: FederationRun, ref: FederationRun) => string) => {
  lines.push(`| scenario | ${STRATEGY_NAMES.join(' | ')} |`, `|---|${STRATEGY_NAMES.map(() => '---').join('|')}|`);
  for (const s of scenarios) {
    const cells = STRATEGY_NAMES.map((st) => {
      const run = robust.find((x) => x.strategy === st && x.scenario === s.label)!.run;
      const ref = robust.find((x) => x.strategy === st && x.scenario === 'clean')!.run;
      return s.k === 0 ? value(run) : `${value(run)} ${refText(run, ref)}`;
    });
    lines.push(`| ${s.k === 0 ? 'no attacker' : `${s.k} of 7: ${s.attack}`} | ${cells.join(' | ')} |`);
  }
};
const pct = (v: number, ref: number) => `${v >= ref ? '+' : ''}${((100 * (v - ref)) / ref).toFixed(1)} %`;
table(
  (run) => f3(run.meanF1.at(-1)!),
  (run, ref) => `(${pct(run.meanF1.at(-1)!, ref.meanF1.at(-1)!)}; worst ${f3(Math.min(...run.meanF1.slice(1)))})`,
);
lines.push('', `The same runs by normal error after round ${RP} (× the same strategy without attackers):`, '');
table(
  (run) => f3(run.meanNormalError.at(-1)!),
  (run, ref) => `(×${(run.meanNormalError.at(-1)! / ref.meanNormalError.at(-1)!).toFixed(2)})`,
);
const report = lines.join('\n');

const panels: Panel[] = [
  {
    title: `clean FedAvg, ${machines.length} agents: mean best-F1 per round`,
    series: [{ name: 'global model', y: clean.meanF1 }],
    refs: [
      { name: 'local-only', y: localMean },
      { name: 'central', y: centralMean },
    ],
  },
  ...[1, 2].flatMap((k) =>
    ATTACKS.map((attack): Panel => ({
      title: `${k} of 7 poisoned (${attack}), from the clean model`,
      series: STRATEGY_NAMES.map((st) => ({ name: st, y: robust.find((x) => x.strategy === st && x.k === k && x.attack === attack)!.run.meanF1 })),
      refs: [{ name: 'no attacker, fedavg', y: robust.find((x) => x.strategy === 'fedavg' && x.k === 0)!.run.meanF1.at(-1)! }],
    })),
  ),
];
mkdirSync(a.out!, { recursive: true });
writeFileSync(join(a.out!, 'fed-sim.svg'), linePanels(panels));
writeFileSync(join(a.out!, 'report.md'), `${report}\n`);
writeFileSync(
  join(a.out!, 'results.json'),
  `${JSON.stringify({ args: a, training, clipNorm, local: localFigs, central: centralFigs, random: baseFigs, clean: { meanF1: clean.meanF1, meanNormalError: clean.meanNormalError, rounds: clean.rounds }, robust: robust.map(({ run, ...x }) => ({ ...x, meanF1: run.meanF1, meanNormalError: run.meanNormalError, rounds: run.rounds })) }, null, 1)}\n`,
);
process.stdout.write(`${report}\n`);
say(`wrote ${a.out}/report.md, fed-sim.svg, results.json`);
