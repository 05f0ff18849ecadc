import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoencoderScorer } from '../autoencoder/scorer.ts';
import { PcaScorer } from './baselines/pca.ts';
import { ZScoreScorer } from './baselines/zscore.ts';
import { plotSvg } from './plot-svg.ts';
import { markdownReport } from './report.ts';
import { runEval } from './run.ts';
import type { Scorer } from './scorer.ts';

export const EVAL_SCORERS: Array<() => Scorer> = [() => new AutoencoderScorer(), () => new PcaScorer(), () => new ZScoreScorer()];

/**
 * `homeostat eval`: every scorer on every machine's splits, in one run. Progress goes to
 * stderr; with --json stdout carries the one JSON document and nothing else. The report,
 * the JSON and the plot are also written to --out.
 */
export async function evalCommand(o: { data: string; machines?: string[]; json?: boolean; out: string; maxRows?: number }): Promise<void> {
  const t0 = performance.now();
  const result = await runEval({
    dataDir: o.data,
    machines: o.machines,
    scorers: EVAL_SCORERS,
    maxRows: o.maxRows,
    onProgress: (msg) => process.stderr.write(`eval: ${msg}\n`),
  });
  mkdirSync(o.out, { recursive: true });
  const md = markdownReport(result);
  writeFileSync(join(o.out, 'report.md'), md + '\n');
  writeFileSync(join(o.out, 'result.json'), JSON.stringify(result.machines.length ? { ...result, plot: undefined } : result, null, 2));
  if (result.plot) writeFileSync(join(o.out, `scores-${result.plot.machine}.svg`), plotSvg(result.plot));
  process.stderr.write(`eval: done in ${((performance.now() - t0) / 1000).toFixed(1)} s; report, JSON and plot in ${o.out}\n`);
  if (o.json) process.stdout.write(JSON.stringify({ ...result, plot: undefined }) + '\n');
  else process.stdout.write(md + '\n');
}
