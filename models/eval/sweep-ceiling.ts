// Issue 3: how far can any scorer of this kind get on the seven SMD machines? Session 3 found an
// untrained autoencoder scoring as well as the trained one (0.548 against 0.536 mean best-F1),
// which says the signal is mostly how far standardised values stray. This sweep measures that
// family directly, without an autoencoder, and then two references that use labels:
//
// 1. Unsupervised rules, fixed before the run, each fitted on the train split only:
//    - the squared z-score of each row averaged over features, then over the last 10 rows (what
//      the untrained autoencoder computes in effect);
//    - the same against a time-of-day profile (SMD rows are a minute apart and train runs
//      straight into test, so row r of the stream is minute r % 1440 of a day);
//    - the same against a baseline that follows the test stream with a lag (min of the train
//      baseline and the mean of rows t-480..t-240: a level shift that lasts beyond four hours
//      stops counting, as an operator would expect of a "new normal");
//    - robust standardisation (1–99 % trimmed mean/std, median/IQR);
//    - Mahalanobis distance (full covariance, shrinkage 1) and k-nearest-neighbour distance to
//      3,000 train rows (k = 5), both averaged over the last 10 rows.
// 2. References that are not detectors:
//    - ceiling: logistic regression fitted on each machine's own TEST labels (in-sample), over
//      |z|, its 10-row mean and z per metric. What a row-wise linear scorer of these inputs could
//      reach with the answers in hand;
//    - transfer: the same regression over order statistics of |z| (feature-agnostic, so it
//      would carry to the agent's own metrics), fitted on six machines' labels and scored on the
//      seventh (leave one machine out).
// 3. Where the best unsupervised rule's false positives come from: its longest false-positive
//    run per machine at the best threshold, with the metrics that dominate it.
// 4. The labelled segments of 300 rows or more, with how far their metrics stray: whether SMD
//    labels long level shifts as anomalies, which decides whether a "new normal" rule can help.
// About 1 minute on 2 cores (k-NN and the regressions dominate).
// Usage: npx tsx models/eval/sweep-ceiling.ts --data ../shared/datasets/smd
import { meanStd } from '../autoencoder/standardize.ts';
import { symmetricEigen } from './baselines/pca.ts';
import { standardise, STD_FLOOR } from './baselines/forecast.ts';
import { bestF1, rowMeanSquare, segments, trailingMean } from './metrics.ts';
import { listMachines, loadMachine, type SmdMachine } from './smd.ts';

const i = process.argv.indexOf('--data');
const dataDir = i > 0 ? process.argv[i + 1]! : '../shared/datasets/smd';

/** The autoencoder's window: every rule averages its row score over the same span. */
const W = 10;
const DAY = 1440;

function standardised(m: SmdMachine, rows: Float32Array): Float64Array {
  const { mean, std } = meanStd(m.train, m.features, STD_FLOOR);
  return standardise(rows, m.features, mean, std);
}

/** Mean |z| of each metric over rows a..b, largest first, as [mean |z|, metric (1-based)]. */
function strayingMetrics(z: Float64Array, f: number, a: number, b: number): Array<readonly [number, number]> {
  return Array.from({ length: f }, (_, j) => {
    let s = 0;
    for (let t = a; t <= b; t++) s += Math.abs(z[t * f + j]!);
    return [s / Math.max(1, b - a + 1), j + 1] as const;
  }).sort((x, y) => y[0] - x[0]);
}

const zSquared = (m: SmdMachine) => trailingMean(rowMeanSquare(standardised(m, m.test), m.features), W);

/** Train mean per metric and hour of day (test row t is train row nTrain + t); train std. */
function timeOfDay(m: SmdMachine): Float64Array {
  const f = m.features;
  const nTr = m.train.length / f;
  const { std } = meanStd(m.train, f, STD_FLOOR);
  const bins = 24;
  const sum = new Float64Array(bins * f);
  const count = new Float64Array(bins);
  const bin = (row: number) => Math.floor(((row % DAY) / DAY) * bins);
  for (let r = 0; r < nTr; r++) {
    count[bin(r)]!++;
    for (let j = 0; j < f; j++) sum[bin(r) * f + j]! += m.train[r * f + j]!;
  }
  const n = m.test.length / f;
  const s = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const b = bin(nTr + t);
    let a = 0;
    for (let j = 0; j < f; j++) a += ((m.test[t * f + j]! - sum[b * f + j]! / count[b]!) / std[j]!) ** 2;
    s[t] = a / f;
  }
  return trailingMean(s, W);
}

/** min(score against train, score against the mean of rows t-lag-span..t-lag of the stream). */
function laggedBaseline(m: SmdMachine, lag = 240, span = 240): Float64Array {
  const f = m.features;
  const { mean, std } = meanStd(m.train, f, STD_FLOOR);
  const all = new Float32Array(m.train.length + m.test.length);
  all.set(m.train);
  all.set(m.test, m.train.length);
  const nTr = m.train.length / f;
  const prefix = new Float64Array((all.length / f + 1) * f);
  for (let r = 0; r < all.length / f; r++) for (let j = 0; j < f; j++) prefix[(r + 1) * f + j] = prefix[r * f + j]! + all[r * f + j]!;
  const n = m.test.length / f;
  const s = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const hi = nTr + t - lag;
    const lo = hi - span;
    let vsTrain = 0;
    let vsRecent = 0;
    for (let j = 0; j < f; j++) {
      const x = m.test[t * f + j]!;
      vsTrain += ((x - mean[j]!) / std[j]!) ** 2;
      vsRecent += ((x - (prefix[hi * f + j]! - prefix[lo * f + j]!) / span) / std[j]!) ** 2;
    }
    s[t] = Math.min(vsTrain, vsRecent) / f;
  }
  return trailingMean(s, W);
}

/** Per-metric centre and scale from order statistics of the train split. */
function robust(m: SmdMachine, how: 'trimmed' | 'iqr'): Float64Array {
  const f = m.features;
  const nTr = m.train.length / f;
  const centre = new Float64Array(f);
  const scale = new Float64Array(f);
  for (let j = 0; j < f; j++) {
    const col = Float64Array.from({ length: nTr }, (_, r) => m.train[r * f + j]!).sort();
    const q = (p: number) => col[Math.floor(p * (nTr - 1))]!;
    if (how === 'iqr') {
      centre[j] = q(0.5);
      scale[j] = Math.max(STD_FLOOR, (q(0.75) - q(0.25)) / 1.349);
    } else {
      const kept = col.filter((v) => v >= q(0.01) && v <= q(0.99));
      const mu = kept.reduce((a, v) => a + v, 0) / kept.length;
      centre[j] = mu;
      scale[j] = Math.max(STD_FLOOR, Math.sqrt(kept.reduce((a, v) => a + (v - mu) ** 2, 0) / kept.length));
    }
  }
  const z = Float64Array.from(m.test, (v, k) => (v - centre[k % f]!) / scale[k % f]!);
  return trailingMean(rowMeanSquare(z, f), W);
}

function mahalanobis(m: SmdMachine, shrink = 1): Float64Array {
  const f = m.features;
  const a = standardised(m, m.train);
  const nTr = a.length / f;
  const cov = new Float64Array(f * f);
  for (let r = 0; r < nTr; r++)
    for (let p = 0; p < f; p++) for (let q = p; q < f; q++) cov[p * f + q]! += (a[r * f + p]! * a[r * f + q]!) / nTr;
  for (let p = 0; p < f; p++) for (let q = p + 1; q < f; q++) cov[q * f + p] = cov[p * f + q]!;
  const { values, vectors } = symmetricEigen(cov, f);
  const z = standardised(m, m.test);
  const n = z.length / f;
  const s = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let d = 0;
    for (let c = 0; c < f; c++) {
      let proj = 0;
      for (let j = 0; j < f; j++) proj += vectors[c * f + j]! * z[t * f + j]!;
      d += proj ** 2 / (Math.max(values[c]!, 0) + shrink);
    }
    s[t] = d / f;
  }
  return trailingMean(s, W);
}

function nearestNeighbours(m: SmdMachine, refRows = 3000, k = 5): Float64Array {
  const f = m.features;
  const a = standardised(m, m.train);
  const nTr = a.length / f;
  const step = Math.max(1, Math.floor(nTr / refRows));
  const ref: Float64Array[] = [];
  for (let r = 0; r < nTr; r += step) ref.push(a.subarray(r * f, (r + 1) * f));
  const z = standardised(m, m.test);
  const n = z.length / f;
  const s = new Float64Array(n);
  const best = new Float64Array(k);
  for (let t = 0; t < n; t++) {
    best.fill(Infinity);
    for (const x of ref) {
      let d = 0;
      for (let j = 0; j < f && d < best[k - 1]!; j++) d += (z[t * f + j]! - x[j]!) ** 2;
      if (d >= best[k - 1]!) continue;
      let p = k - 1;
      for (; p > 0 && best[p - 1]! > d; p--) best[p] = best[p - 1]!;
      best[p] = d;
    }
    s[t] = best.reduce((acc, v) => acc + v, 0) / k / f;
  }
  return trailingMean(s, W);
}

const RULES: Array<{ name: string; score: (m: SmdMachine) => Float64Array }> = [
  { name: 'squared z, mean over metrics, then over 10 rows', score: zSquared },
  { name: 'same, against a time-of-day profile (hourly)', score: timeOfDay },
  { name: 'same, min with a baseline lagged 4 h (rows t-480..t-240)', score: (m) => laggedBaseline(m) },
  { name: 'same, trimmed mean/std (1–99 %)', score: (m) => robust(m, 'trimmed') },
  { name: 'same, median/IQR', score: (m) => robust(m, 'iqr') },
  { name: 'Mahalanobis distance (shrinkage 1), over 10 rows', score: (m) => mahalanobis(m) },
  { name: 'k-NN distance (k = 5, 3,000 train rows), over 10 rows', score: (m) => nearestNeighbours(m) },
];

/** Logistic regression, full-batch Adam; positives weighted to balance the classes. */
function fitLogistic(sets: Array<{ x: Float64Array; y: Uint8Array }>, d: number, iterations = 300): Float64Array {
  const w = new Float64Array(d);
  const m1 = new Float64Array(d);
  const m2 = new Float64Array(d);
  const n = sets.reduce((a, s) => a + s.y.length, 0);
  const pos = sets.reduce((a, s) => a + s.y.reduce((b, v) => b + v, 0), 0);
  const posWeight = (n - pos) / Math.max(1, pos);
  for (let it = 1; it <= iterations; it++) {
    const g = new Float64Array(d);
    for (const { x, y } of sets)
      for (let r = 0; r < y.length; r++) {
        let logit = 0;
        for (let c = 0; c < d; c++) logit += w[c]! * x[r * d + c]!;
        const e = (1 / (1 + Math.exp(-logit)) - y[r]!) * (y[r] ? posWeight : 1);
        for (let c = 0; c < d; c++) g[c]! += e * x[r * d + c]!;
      }
    for (let c = 0; c < d; c++) {
      const gc = g[c]! / n + 1e-3 * w[c]!;
      m1[c] = 0.9 * m1[c]! + 0.1 * gc;
      m2[c] = 0.999 * m2[c]! + 0.001 * gc * gc;
      w[c]! -= (0.05 * (m1[c]! / (1 - 0.9 ** it))) / (Math.sqrt(m2[c]! / (1 - 0.999 ** it)) + 1e-8);
    }
  }
  return w;
}

function linearScores(x: Float64Array, w: Float64Array, rows: number): Float64Array {
  const d = w.length;
  const s = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < d; c++) s[r]! += w[c]! * x[r * d + c]!;
  return s;
}

/** Columns scaled to mean 0, std 1 in place, except the last (the intercept). */
function scaleColumns(x: Float64Array, d: number): void {
  const n = x.length / d;
  for (let c = 0; c < d - 1; c++) {
    let mu = 0;
    for (let r = 0; r < n; r++) mu += x[r * d + c]! / n;
    let v = 0;
    for (let r = 0; r < n; r++) v += (x[r * d + c]! - mu) ** 2 / n;
    const sd = Math.sqrt(v) || 1;
    for (let r = 0; r < n; r++) x[r * d + c] = (x[r * d + c]! - mu) / sd;
  }
}

/** Per metric: |z|, its 10-row mean, z (clipped at ±50); plus an intercept. Metric identity matters. */
function perMetricInputs(m: SmdMachine): { x: Float64Array; d: number } {
  const f = m.features;
  const z = standardised(m, m.test).map((v) => Math.max(-50, Math.min(50, v)));
  const n = z.length / f;
  const d = 3 * f + 1;
  const x = new Float64Array(n * d);
  for (let j = 0; j < f; j++) {
    const abs = Float64Array.from({ length: n }, (_, t) => Math.abs(z[t * f + j]!));
    const mean = trailingMean(abs, W);
    for (let t = 0; t < n; t++) {
      x[t * d + j] = abs[t]!;
      x[t * d + f + j] = mean[t]!;
      x[t * d + 2 * f + j] = z[t * f + j]!;
    }
  }
  for (let t = 0; t < n; t++) x[t * d + d - 1] = 1;
  scaleColumns(x, d);
  return { x, d };
}

/** The 8 largest log(1 + |z|) of the row and of its 10-row mean, and both means: no metric identity. */
function orderStatInputs(m: SmdMachine): { x: Float64Array; d: number } {
  const f = m.features;
  const K = 8;
  const z = standardised(m, m.test).map((v) => Math.log1p(Math.abs(v)));
  const n = z.length / f;
  const smoothed = new Float64Array(n * f);
  for (let j = 0; j < f; j++) {
    const mean = trailingMean(Float64Array.from({ length: n }, (_, t) => z[t * f + j]!), W);
    for (let t = 0; t < n; t++) smoothed[t * f + j] = mean[t]!;
  }
  const d = 2 * K + 3;
  const x = new Float64Array(n * d);
  for (let t = 0; t < n; t++) {
    const row = Array.from(z.subarray(t * f, (t + 1) * f)).sort((a, b) => b - a);
    const rowMean = Array.from(smoothed.subarray(t * f, (t + 1) * f)).sort((a, b) => b - a);
    for (let k = 0; k < K; k++) {
      x[t * d + k] = row[k]!;
      x[t * d + K + k] = rowMean[k]!;
    }
    x[t * d + 2 * K] = row.reduce((a, v) => a + v, 0) / f;
    x[t * d + 2 * K + 1] = rowMean.reduce((a, v) => a + v, 0) / f;
    x[t * d + 2 * K + 2] = 1;
  }
  return { x, d };
}

const t0 = performance.now();
const say = (msg: string) => process.stderr.write(`sweep-ceiling: ${msg} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
const machines = listMachines(dataDir).map((name) => loadMachine(dataDir, name));
const f1 = new Map<string, number[]>();
const fpRuns: string[] = [];
const longSegments: string[] = [];
for (const m of machines) {
  const z = standardised(m, m.test);
  for (const rule of RULES) {
    const scores = rule.score(m);
    const best = bestF1(scores, m.labels);
    f1.set(rule.name, [...(f1.get(rule.name) ?? []), best.f1]);
    if (rule === RULES[0]) {
      const falsePositive = Array.from(scores, (s, t): number => (s >= best.threshold && !m.labels[t] ? 1 : 0));
      const [a, b] = segments(falsePositive).sort((x, y) => y[1] - y[0] - (x[1] - x[0]))[0] ?? [0, -1];
      const flagged = falsePositive.reduce((s, v) => s + v, 0);
      fpRuns.push(
        `| ${m.name} | ${best.f1.toFixed(3)} | ${flagged} | ${b >= a ? `${a}–${b} (${b - a + 1} rows)` : 'none'} | ${strayingMetrics(z, m.features, a, b)
          .slice(0, 3)
          .map(([v, j]) => `${j}: ${v.toFixed(1)}`)
          .join(', ')} |`,
      );
    }
  }
  for (const [a, b] of segments(m.labels).filter(([x, y]) => y - x + 1 >= 300)) {
    const [stray, metric] = strayingMetrics(z, m.features, a, b)[0]!;
    longSegments.push(`| ${m.name} | ${a}–${b} (${b - a + 1} rows) | ${metric}: ${stray.toFixed(1)} |`);
  }
  say(`${m.name}: unsupervised rules done`);
}

const inSample: number[] = [];
for (const m of machines) {
  const { x, d } = perMetricInputs(m);
  inSample.push(bestF1(linearScores(x, fitLogistic([{ x, y: m.labels }], d), m.labels.length), m.labels).f1);
}
say('in-sample ceiling done');
const transfer: number[] = [];
const inputs = machines.map((m) => ({ ...orderStatInputs(m), y: m.labels }));
for (const [h, m] of machines.entries()) {
  const w = fitLogistic(
    inputs.filter((_, k) => k !== h),
    inputs[h]!.d,
    200,
  );
  transfer.push(bestF1(linearScores(inputs[h]!.x, w, m.labels.length), m.labels).f1);
}
say('leave-one-machine-out done');

const mean = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3);
const line = (name: string, xs: number[]) => `| ${name} | ${mean(xs)} | ${xs.map((x) => x.toFixed(3)).join(' ')} |`;
console.log(`| rule | mean best-F1 | per machine best-F1 |
|---|---|---|
${RULES.map((r) => line(r.name, f1.get(r.name)!)).join('\n')}
${line('reference, not a detector: logistic regression fitted on the machine\'s own test labels (in-sample ceiling)', inSample)}
${line('reference: logistic regression over order statistics of \\|z\\|, fitted on the other six machines\' labels', transfer)}

Longest false-positive run of the first rule at its best threshold:

| machine | best-F1 | false-positive rows | longest run (test rows, 0-based) | mean \\|z\\| of its top metrics (1-based) |
|---|---|---|---|---|
${fpRuns.join('\n')}

Labelled segments of 300 rows or more:

| machine | test rows (0-based) | top metric (1-based): mean \\|z\\| |
|---|---|---|
${longSegments.join('\n')}`);
say('done');
