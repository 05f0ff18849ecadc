import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { PcaScorer } from '../../../models/eval/baselines/pca.ts';
import { ZScoreScorer } from '../../../models/eval/baselines/zscore.ts';
import { bestPaF1 } from '../../../models/eval/metrics.ts';
import { runEval } from '../../../models/eval/run.ts';
import { listMachines, loadMachine } from '../../../models/eval/smd.ts';

/** A small SMD-layout dataset: 3 correlated features, one planted anomaly segment that breaks the correlation. */
function writeDataset(gz: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-smd-'));
  for (const d of ['train', 'test', 'test_label', 'interpretation_label']) mkdirSync(join(dir, d));
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const row = (anomalous: boolean) => {
    const a = rnd();
    const b = anomalous ? 1 - a : a + 0.01 * rnd();
    return [a, b, 0.5 + 0.01 * rnd()].map((v) => v.toFixed(6)).join(',');
  };
  const train = Array.from({ length: 400 }, () => row(false)).join('\n') + '\n';
  const labels = Array.from({ length: 200 }, (_, i) => (i >= 120 && i < 140 ? 1 : 0));
  const test = labels.map((l) => row(l === 1)).join('\n') + '\n';
  const put = (p: string, text: string) => (gz ? writeFileSync(`${p}.gz`, gzipSync(text)) : writeFileSync(p, text));
  put(join(dir, 'train', 'm-1.txt'), train);
  put(join(dir, 'test', 'm-1.txt'), test);
  writeFileSync(join(dir, 'test_label', 'm-1.txt'), labels.join('\n') + '\n');
  writeFileSync(join(dir, 'interpretation_label', 'm-1.txt'), '121-140:1,2\n');
  return dir;
}

test('the SMD reader reads plain and gzip files alike', () => {
  const a = loadMachine(writeDataset(false), 'm-1');
  const b = loadMachine(writeDataset(true), 'm-1');
  assert.deepEqual(listMachines(writeDataset(true)), ['m-1']);
  assert.equal(a.features, 3);
  assert.equal(a.train.length, 1200);
  assert.deepEqual(a.test, b.test);
  assert.deepEqual(a.interpretation, [{ start: 120, end: 139, metrics: [0, 1] }]);
});

test('malformed SMD files are refused with the file and row named', () => {
  const dir = writeDataset(false);
  writeFileSync(join(dir, 'test', 'm-1.txt'), '0.1,0.2,0.3\n0.1,0.2\n');
  assert.throws(() => loadMachine(dir, 'm-1'), /test\/m-1: row 2 has 2 columns/);
  writeFileSync(join(dir, 'test', 'm-1.txt'), '0.1,0.2,x\n');
  assert.throws(() => loadMachine(dir, 'm-1'), /row 1, column 3 is "x"/);
  assert.throws(() => listMachines('/nonexistent'), /--data must point at the SMD folder/);
});

test('PCA finds a planted low-rank structure: off-subspace points score far above in-subspace ones', async () => {
  const f = 4;
  const rows = new Float32Array(500 * f);
  for (let i = 0; i < 500; i++) {
    const t = Math.sin(i) * 2;
    rows.set([t, 2 * t, -t, 0.5 * t], i * f);
  }
  const pca = new PcaScorer(0.99);
  await pca.fit(rows, f);
  assert.equal(pca.components, 1);
  const { scores, contributions } = await pca.score(Float32Array.from([1, 2, -1, 0.5, 1, -2, -1, 0.5]), f);
  assert.ok(scores[0]! < 1e-6, `in-subspace ${scores[0]}`);
  assert.ok(scores[1]! > 1, `off-subspace ${scores[1]}`);
  assert.equal(contributions!.subarray(4, 8).indexOf(Math.max(...contributions!.subarray(4, 8))), 1, 'the broken feature contributes most');
});

test('a deterministic small eval run: shape, and the planted segment is found by PCA', async () => {
  const dir = writeDataset(true);
  const run = () => runEval({ dataDir: dir, scorers: [() => new PcaScorer(), () => new ZScoreScorer()] });
  const r = await run();
  assert.deepEqual(Object.keys(r.mean), ['pca', 'zscore']);
  assert.equal(r.machines[0]!.testRows, 200);
  assert.ok(r.mean.pca!.bestF1 > 0.9, `PCA best-F1 ${r.mean.pca!.bestF1}`);
  assert.ok(r.machines[0]!.scorers.pca!.hitRate3! > 0.9);
  const again = await run();
  assert.deepEqual(
    again.machines.map((m) => Object.values(m.scorers).map((s) => [s.bestF1, s.paF1, s.trainThresholdF1, s.hitRate3])),
    r.machines.map((m) => Object.values(m.scorers).map((s) => [s.bestF1, s.paF1, s.trainThresholdF1, s.hitRate3])),
  );
});

test('point adjust inflates a random score on real SMD data (the field-known ~0.76–0.78)', () => {
  const m = loadMachine('../shared/datasets/smd', 'machine-1-2');
  let seed = 1;
  const scores = Float64Array.from(m.labels, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31));
  const pa = bestPaF1(scores, m.labels).f1;
  assert.ok(pa > 0.5, `random PA-F1 ${pa.toFixed(3)} should be far above what a random detector deserves`);
});


test('homeostat eval --json prints one JSON document on stdout, progress on stderr, files in --out', async () => {
  const dir = writeDataset(false);
  const out = mkdtempSync(join(tmpdir(), 'homeostat-evalout-'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'cli/homeostat.ts', 'eval', '--data', dir, '--json', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(doc.mean).sort(), ['autoencoder', 'pca', 'zscore']);
  assert.match(r.stderr, /machine 1\/1 m-1: pca/);
  assert.ok(existsSync(join(out, 'report.md')));
  assert.ok(readdirSync(out).some((f) => f.endsWith('.svg')));
});
