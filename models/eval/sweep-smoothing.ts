// Issue 3: sweep-forecast.ts found the ridge forecaster's error averaged over the last 10 rows at
// 0.577 mean best-F1 (raw row error 0.472, autoencoder 0.536). Ten rows was fixed before that run
// (the autoencoder's window); any other span picked by looking at the seven machines would be
// tuned to them. So this sweep measures the span honestly: for each scorer (forecast L = 5 and
// L = 30 at λ = 1000, and the deviation score, squared z averaged over metrics) and each span in
// SPANS, best-F1 per machine; then leave one machine out: the (scorer, span) with the best mean on
// six machines is scored on the seventh, which is what a choice made here would do on an SMD
// machine it has never seen.
// Two more forecasters were added before their first run (session 5): L = 30 predicting h = 5
// and h = 10 rows ahead (from rows t-h-29..t-h). A one-step forecaster fed an anomaly's first
// rows soon predicts the shifted level; one that must predict further ahead keeps predicting the
// old level for h rows longer, so its error should stay high through more of each anomaly.
// About 6 minutes on 2 cores (four L = 30 Gram matrices a machine).
// Usage: npx tsx models/eval/sweep-smoothing.ts --data ../shared/datasets/smd
import { meanStd } from '../autoencoder/standardize.ts';
import { ForecastScorer, standardise, STD_FLOOR } from './baselines/forecast.ts';
import { bestF1, rowMeanSquare, trailingMean } from './metrics.ts';
import { listMachines, loadMachine } from './smd.ts';

const i = process.argv.indexOf('--data');
const dataDir = i > 0 ? process.argv[i + 1]! : '../shared/datasets/smd';

const SPANS = [1, 5, 10, 20, 30, 60];

const FORECASTS = [
  { lags: 5, horizon: 1 },
  { lags: 30, horizon: 1 },
  { lags: 30, horizon: 5 },
  { lags: 30, horizon: 10 },
];
const scorers = [...FORECASTS.map((s) => `forecast L = ${s.lags}${s.horizon === 1 ? '' : `, h = ${s.horizon}`}`), 'deviation'];
/** f1[scorer][span][machine] */
const f1 = scorers.map(() => SPANS.map(() => [] as number[]));
const machines = listMachines(dataDir);
const t0 = performance.now();
for (const name of machines) {
  const m = loadMachine(dataDir, name);
  const f = m.features;
  const { mean, std } = meanStd(m.train, f, STD_FLOOR);
  const dev = rowMeanSquare(standardise(m.test, f, mean, std), f);
  const raw: Float64Array[] = [];
  for (const { lags, horizon } of FORECASTS) {
    const fc = new ForecastScorer(lags, 1000, horizon);
    await fc.fit(m.train, f);
    raw.push((await fc.score(m.test, f)).scores);
  }
  raw.push(dev);
  for (const [s, x] of raw.entries()) for (const [k, w] of SPANS.entries()) f1[s]![k]!.push(bestF1(trailingMean(x, w), m.labels).f1);
  process.stderr.write(`sweep-smoothing: ${name} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Leave one machine out over the candidate scores: chosen on six, scored on the seventh. */
function leaveOneOut(candidates: number[]) {
  return machines.map((_, held) => {
    let best = { s: 0, k: 0, f: -1 };
    for (const s of candidates)
      for (let k = 0; k < SPANS.length; k++) {
        const f = mean(f1[s]![k]!.filter((_, j) => j !== held));
        if (f > best.f) best = { s, k, f };
      }
    return { choice: `${scorers[best.s]}, ${SPANS[best.k]} rows`, f1: f1[best.s]![best.k]![held]! };
  });
}
const all = scorers.map((_, s) => s);
const lomo = leaveOneOut(all);
// Every extra candidate is one more way to fit the six: the same choice without the h > 1 forecasters.
const oneStep = leaveOneOut(all.filter((s) => s >= FORECASTS.length || FORECASTS[s]!.horizon === 1));

console.log(`| scorer | rows averaged | mean best-F1 | per machine (${machines.join(' ')}) |
|---|---|---|---|
${scorers.flatMap((name, s) => SPANS.map((w, k) => `| ${name} | ${w} | ${mean(f1[s]![k]!).toFixed(3)} | ${f1[s]![k]!.map((x) => x.toFixed(3)).join(' ')} |`)).join('\n')}

Leave one machine out (choice made on the other six, scored on the held-out one):

| held out | chosen on the other six | its best-F1 |
|---|---|---|
${machines.map((name, j) => `| ${name} | ${lomo[j]!.choice} | ${lomo[j]!.f1.toFixed(3)} |`).join('\n')}
| mean | | ${mean(lomo.map((l) => l.f1)).toFixed(3)} |

The same with the h > 1 forecasters left out of the candidates: mean ${mean(oneStep.map((l) => l.f1)).toFixed(3)} (${oneStep.map((l) => l.f1.toFixed(3)).join(' ')}).`);
