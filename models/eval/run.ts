import { bestF1, bestPaF1, f1At, quantile, TRAIN_QUANTILE, type Prf } from './metrics.ts';
import type { Scorer } from './scorer.ts';
import { spotF1 } from './spot-threshold.ts';
import { listMachines, loadMachine, type SmdMachine } from './smd.ts';

export interface ScorerResult {
  bestF1: Prf;
  paF1: Prf;
  /** F1 at the threshold chosen from train scores only (TRAIN_QUANTILE), what an agent can do. */
  trainThresholdF1: Prf;
  /** F1 with the agent's own threshold: SPOT warmed on train scores, run over test (spot-threshold.ts); `threshold` is its last value. */
  spotF1: Prf;
  /** Share of operator-labelled anomalous rows whose top-3 contributions name a labelled metric; null without contributions. */
  hitRate3: number | null;
  fitSeconds: number;
  scoreSeconds: number;
}

export interface EvalResult {
  dataDir: string;
  trainQuantile: number;
  machines: Array<{ name: string; trainRows: number; testRows: number; anomalyRate: number; scorers: Record<string, ScorerResult> }>;
  mean: Record<string, { bestF1: number; p: number; r: number; paF1: number; trainThresholdF1: number; spotF1: number; hitRate3: number | null }>;
  /** Test scores of the first machine per scorer, for the plot. */
  plot: { machine: string; labels: number[]; series: Record<string, { scores: number[]; threshold: number }> } | null;
}

/**
 * HitRate@3 over the interpretation labels: for each labelled anomalous row, whether the
 * scorer's three largest contributions include a metric the operators named for that range.
 */
export function hitRate3(contrib: Float64Array, f: number, m: SmdMachine): number | null {
  let rows = 0;
  let hits = 0;
  for (const seg of m.interpretation) {
    const named = new Set(seg.metrics);
    for (let i = seg.start; i <= seg.end; i++) {
      const row = Array.from(contrib.subarray(i * f, (i + 1) * f));
      const top = row.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0]).slice(0, 3);
      rows++;
      if (top.some(([, j]) => named.has(j))) hits++;
    }
  }
  return rows ? hits / rows : null;
}

export async function runEval(o: {
  dataDir: string;
  machines?: string[];
  scorers: Array<() => Scorer>;
  maxRows?: number;
  onProgress?: (msg: string) => void;
}): Promise<EvalResult> {
  const names = o.machines?.length ? o.machines : listMachines(o.dataDir);
  const say = o.onProgress ?? (() => undefined);
  const machines: EvalResult['machines'] = [];
  let plot: EvalResult['plot'] = null;
  for (const [mi, name] of names.entries()) {
    const m = loadMachine(o.dataDir, name, o.maxRows);
    const f = m.features;
    const entry: EvalResult['machines'][number] = {
      name,
      trainRows: m.train.length / f,
      testRows: m.test.length / f,
      anomalyRate: m.labels.reduce((s, x) => s + x, 0) / m.labels.length,
      scorers: {},
    };
    for (const make of o.scorers) {
      const scorer = make();
      say(`machine ${mi + 1}/${names.length} ${name}: ${scorer.name}`);
      const t0 = performance.now();
      await scorer.fit(m.train, f, (msg) => say(`machine ${mi + 1}/${names.length} ${name}: ${scorer.name}: ${msg}`));
      const t1 = performance.now();
      const train = await scorer.score(m.train, f);
      const test = await scorer.score(m.test, f);
      const t2 = performance.now();
      const thr = quantile(train.scores, TRAIN_QUANTILE);
      entry.scorers[scorer.name] = {
        bestF1: bestF1(test.scores, m.labels),
        paF1: bestPaF1(test.scores, m.labels),
        trainThresholdF1: f1At(test.scores, m.labels, thr),
        spotF1: spotF1(train.scores, test.scores, m.labels),
        hitRate3: test.contributions ? hitRate3(test.contributions, f, m) : null,
        fitSeconds: (t1 - t0) / 1000,
        scoreSeconds: (t2 - t1) / 1000,
      };
      if (mi === 0) {
        plot ??= { machine: name, labels: Array.from(m.labels), series: {} };
        plot.series[scorer.name] = { scores: Array.from(test.scores), threshold: thr };
      }
    }
    machines.push(entry);
  }
  const mean: EvalResult['mean'] = {};
  const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  for (const s of Object.keys(machines[0]?.scorers ?? {})) {
    const rs = machines.map((m) => m.scorers[s]!);
    const hits = rs.map((r) => r.hitRate3).filter((h): h is number => h !== null);
    mean[s] = {
      bestF1: avg(rs.map((r) => r.bestF1.f1)),
      p: avg(rs.map((r) => r.bestF1.p)),
      r: avg(rs.map((r) => r.bestF1.r)),
      paF1: avg(rs.map((r) => r.paF1.f1)),
      trainThresholdF1: avg(rs.map((r) => r.trainThresholdF1.f1)),
      spotF1: avg(rs.map((r) => r.spotF1.f1)),
      hitRate3: hits.length ? avg(hits) : null,
    };
  }
  return { dataDir: o.dataDir, trainQuantile: TRAIN_QUANTILE, machines, mean, plot };
}
