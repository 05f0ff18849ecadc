import type { EvalResult } from './run.ts';

const f3 = (x: number) => x.toFixed(3);

/** A Markdown table (also readable as plain text): machine × scorer. */
export function markdownReport(r: EvalResult): string {
  const scorers = Object.keys(r.mean);
  const head = '| machine | scorer | best-F1 | P | R | PA-F1 | F1 @ train q' + r.trainQuantile + ' | F1 @ SPOT | HitRate@3 |';
  const rows: string[] = [head, '|---|---|---|---|---|---|---|---|---|'];
  for (const m of r.machines) {
    for (const s of scorers) {
      const x = m.scorers[s]!;
      rows.push(`| ${m.name} | ${s} | ${f3(x.bestF1.f1)} | ${f3(x.bestF1.p)} | ${f3(x.bestF1.r)} | ${f3(x.paF1.f1)} | ${f3(x.trainThresholdF1.f1)} | ${f3(x.spotF1.f1)} | ${x.hitRate3 === null ? '-' : f3(x.hitRate3)} |`);
    }
  }
  for (const s of scorers) {
    const x = r.mean[s]!;
    rows.push(`| **mean** | ${s} | **${f3(x.bestF1)}** | ${f3(x.p)} | ${f3(x.r)} | ${f3(x.paF1)} | ${f3(x.trainThresholdF1)} | ${f3(x.spotF1)} | ${x.hitRate3 === null ? '-' : f3(x.hitRate3)} |`);
  }
  return rows.join('\n');
}
