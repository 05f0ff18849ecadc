import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** One SMD machine: row-major train/test matrices, per-row test labels, operator-named causes. */
export interface SmdMachine {
  name: string;
  features: number;
  train: Float32Array;
  test: Float32Array;
  labels: Uint8Array;
  /** 0-based inclusive test-row ranges and the 0-based metrics operators named for them. */
  interpretation: Array<{ start: number; end: number; metrics: number[] }>;
}

function readText(base: string): string {
  for (const p of [base, `${base}.gz`]) {
    if (existsSync(p)) {
      const buf = readFileSync(p);
      return (p.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
    }
  }
  throw new Error(`${base}(.gz) not found: is --data the SMD folder (train/, test/, test_label/)?`);
}

function parseMatrix(text: string, file: string): { rows: Float32Array; features: number } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const features = lines[0]?.split(',').length ?? 0;
  const rows = new Float32Array(lines.length * features);
  lines.forEach((line, r) => {
    const cells = line.split(',');
    if (cells.length !== features) throw new Error(`${file}: row ${r + 1} has ${cells.length} columns, the first row has ${features}`);
    for (let c = 0; c < features; c++) {
      const v = Number(cells[c]);
      if (!Number.isFinite(v)) throw new Error(`${file}: row ${r + 1}, column ${c + 1} is "${cells[c]}", not a number`);
      rows[r * features + c] = v;
    }
  });
  return { rows, features };
}

/** Machine names present in `<dir>/test/` (plain or gzip'd). */
export function listMachines(dir: string): string[] {
  const t = join(dir, 'test');
  if (!existsSync(t)) throw new Error(`${t} does not exist: --data must point at the SMD folder (train/, test/, test_label/)`);
  return [...new Set(readdirSync(t).filter((f) => /\.txt(\.gz)?$/.test(f)).map((f) => f.replace(/\.txt(\.gz)?$/, '')))].sort();
}

/** Loads one machine. `maxRows` truncates both splits (for quick runs and tests). */
export function loadMachine(dir: string, name: string, maxRows = Infinity): SmdMachine {
  const train = parseMatrix(readText(join(dir, 'train', `${name}.txt`)), `train/${name}`);
  const test = parseMatrix(readText(join(dir, 'test', `${name}.txt`)), `test/${name}`);
  if (train.features !== test.features) throw new Error(`${name}: train has ${train.features} columns, test has ${test.features}`);
  const labelText = readText(join(dir, 'test_label', `${name}.txt`));
  const labels = Uint8Array.from(labelText.split('\n').filter((l) => l.trim() !== '').map(Number));
  const nTest = test.rows.length / test.features;
  if (labels.length !== nTest) throw new Error(`test_label/${name}: ${labels.length} labels for ${nTest} test rows`);
  const interpretation: SmdMachine['interpretation'] = [];
  const ip = join(dir, 'interpretation_label', `${name}.txt`);
  if (existsSync(ip)) {
    for (const line of readFileSync(ip, 'utf8').split('\n')) {
      const m = /^(\d+)-(\d+):([\d,]+)$/.exec(line.trim());
      if (m) interpretation.push({ start: Number(m[1]) - 1, end: Number(m[2]) - 1, metrics: m[3]!.split(',').map((d) => Number(d) - 1) });
    }
  }
  const f = test.features;
  const cut = (rows: Float32Array) => (rows.length / f > maxRows ? rows.slice(0, maxRows * f) : rows);
  const testRows = cut(test.rows);
  const n = testRows.length / f;
  return {
    name,
    features: f,
    train: cut(train.rows),
    test: testRows,
    labels: labels.slice(0, n),
    interpretation: interpretation.filter((s) => s.start < n).map((s) => ({ ...s, end: Math.min(s.end, n - 1) })),
  };
}
