/** Colours as models/eval/plot-svg.ts uses them. */
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

export interface Panel {
  title: string;
  /** Lines over rounds: y[i] is the value after round i (index 0 = before the first round). */
  series: Array<{ name: string; y: number[] }>;
  /** Horizontal reference lines (dashed). */
  refs?: Array<{ name: string; y: number }>;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * Small multiples, one panel per scenario: mean best-F1 (y, 0..1 scaled to the data) per round
 * (x), a line per strategy or model, dashed references, a legend per panel.
 */
export function linePanels(panels: Panel[], width = 560, panelHeight = 220, columns = 2): string {
  const rowsN = Math.ceil(panels.length / columns);
  const pw = width;
  const ph = panelHeight + 70;
  const parts: string[] = [];
  const all = panels.flatMap((p) => [...p.series.flatMap((s) => s.y), ...(p.refs ?? []).map((r) => r.y)]).filter(Number.isFinite);
  const lo = Math.max(0, Math.floor((Math.min(...all) - 0.02) * 20) / 20);
  const hi = Math.min(1, Math.ceil((Math.max(...all) + 0.02) * 20) / 20);
  panels.forEach((p, k) => {
    const ox = (k % columns) * pw;
    const oy = Math.floor(k / columns) * ph;
    const left = ox + 50;
    const top = oy + 30;
    const w = pw - 70;
    const rounds = Math.max(...p.series.map((s) => s.y.length)) - 1;
    const x = (i: number) => left + (w * i) / Math.max(1, rounds);
    const y = (v: number) => top + panelHeight - (panelHeight * (v - lo)) / (hi - lo || 1);
    parts.push(`<text x="${left}" y="${top - 10}" font-size="13" font-family="sans-serif">${esc(p.title)}</text>`);
    parts.push(`<rect x="${left}" y="${top}" width="${w}" height="${panelHeight}" fill="none" stroke="#999"/>`);
    for (let t = lo; t <= hi + 1e-9; t += 0.05) {
      parts.push(`<line x1="${left}" x2="${left + w}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#eee"/>`);
      parts.push(`<text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" font-size="10" text-anchor="end" font-family="sans-serif">${t.toFixed(2)}</text>`);
    }
    for (let i = 0; i <= rounds; i++) parts.push(`<text x="${x(i).toFixed(1)}" y="${top + panelHeight + 14}" font-size="10" text-anchor="middle" font-family="sans-serif">${i}</text>`);
    parts.push(`<text x="${left + w / 2}" y="${top + panelHeight + 28}" font-size="10" text-anchor="middle" font-family="sans-serif">round</text>`);
    (p.refs ?? []).forEach((r, j) => {
      parts.push(`<line x1="${left}" x2="${left + w}" y1="${y(r.y).toFixed(1)}" y2="${y(r.y).toFixed(1)}" stroke="#555" stroke-dasharray="${j ? '2 3' : '6 3'}"/>`);
    });
    p.series.forEach((s, j) => {
      const c = COLOURS[j % COLOURS.length];
      const pts = s.y.map((v, i) => `${x(i).toFixed(1)},${y(Math.max(lo, v)).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts}"/>`);
    });
    const legend = [...p.series.map((s, j) => ({ name: s.name, c: COLOURS[j % COLOURS.length]!, dash: '' })), ...(p.refs ?? []).map((r, j) => ({ name: `${r.name} (${r.y.toFixed(3)})`, c: '#555', dash: j ? '2 3' : '6 3' }))];
    legend.forEach((l, j) => {
      const ly = top + 12 + 13 * j;
      parts.push(`<line x1="${left + 8}" x2="${left + 28}" y1="${ly - 4}" y2="${ly - 4}" stroke="${l.c}" stroke-width="2" ${l.dash ? `stroke-dasharray="${l.dash}"` : ''}/>`);
      parts.push(`<text x="${left + 32}" y="${ly}" font-size="10" font-family="sans-serif">${esc(l.name)}</text>`);
    });
  });
  const width2 = columns * pw;
  const height = rowsN * ph;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width2}" height="${height}" viewBox="0 0 ${width2} ${height}"><rect width="100%" height="100%" fill="#fff"/>${parts.join('')}</svg>\n`;
}
