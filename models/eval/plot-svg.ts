import type { EvalResult } from './run.ts';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

/**
 * One panel per scorer: its test score (min-max scaled, downsampled to ≤ 2000 points by max so
 * spikes survive), its train-only threshold as a dashed line, and labelled segments shaded.
 */
export function plotSvg(p: NonNullable<EvalResult['plot']>, width = 1200, panelHeight = 160): string {
  const names = Object.keys(p.series);
  const n = p.labels.length;
  const buckets = Math.min(2000, n);
  const x = (i: number) => 50 + ((width - 60) * i) / Math.max(1, n - 1);
  const parts: string[] = [];
  names.forEach((name, k) => {
    const top = 20 + k * (panelHeight + 30);
    const { scores, threshold } = p.series[name]!;
    const lo = Math.min(...scores);
    const hi = Math.max(...scores, threshold);
    const y = (v: number) => top + panelHeight - (panelHeight * (v - lo)) / (hi - lo || 1);
    parts.push(`<text x="50" y="${top - 5}" font-size="13" font-family="sans-serif">${p.machine} — ${name}</text>`);
    for (let i = 0; i < n; i++) {
      if (!p.labels[i]) continue;
      const s = i;
      while (i + 1 < n && p.labels[i + 1]) i++;
      parts.push(`<rect x="${x(s).toFixed(1)}" y="${top}" width="${Math.max(1, x(i) - x(s)).toFixed(1)}" height="${panelHeight}" fill="#f4b6b6"/>`);
    }
    const pts: string[] = [];
    for (let b = 0; b < buckets; b++) {
      const a = Math.floor((b * n) / buckets);
      const e = Math.max(a + 1, Math.floor(((b + 1) * n) / buckets));
      let m = -Infinity;
      for (let i = a; i < e; i++) m = Math.max(m, scores[i]!);
      pts.push(`${x(a).toFixed(1)},${y(m).toFixed(1)}`);
    }
    parts.push(`<polyline fill="none" stroke="${COLOURS[k % COLOURS.length]}" stroke-width="1" points="${pts.join(' ')}"/>`);
    parts.push(`<line x1="50" x2="${width - 10}" y1="${y(threshold).toFixed(1)}" y2="${y(threshold).toFixed(1)}" stroke="#000" stroke-dasharray="4 3"/>`);
    parts.push(`<rect x="50" y="${top}" width="${width - 60}" height="${panelHeight}" fill="none" stroke="#999"/>`);
  });
  const height = 20 + names.length * (panelHeight + 30);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
}
