import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const out = mkdtempSync(join(tmpdir(), 'fed-sim-test-'));
after(() => rmSync(out, { recursive: true, force: true }));

interface Run {
  strategy: string;
  scenario: string;
  meanNormalError: number[];
}

/**
 * The fleet simulation end to end at its smallest (1,000 rows per SMD machine, one round of each
 * kind): a real coordinator and seven agents over the embedded broker. The full run and its
 * figures are in docs/federation.md; this keeps the script working and checks the one effect
 * that is large even at this size: two ×100 attackers wreck FedAvg, not the median.
 */
test('npm run fed:sim at its smallest: report, plot and results; ×100 attackers hurt FedAvg, not the median', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/fed-sim.ts', '--rounds', '1', '--attack-rounds', '1', '--max-rows', '1000', '--windows', '200', '--out', out], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /fed-sim \[\d+ s\] clean federation: fedavg, 1 rounds/);
  const report = readFileSync(join(out, 'report.md'), 'utf8');
  assert.match(report, /\| 1 \| 0\.\d{3} \| 0\.\d{3} \| 0\.\d{3} \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d,]+ B \|/);
  assert.match(readFileSync(join(out, 'fed-sim.svg'), 'utf8'), /^<svg [^>]*>.*2 of 7 poisoned \(x100\)/s);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { robust: Run[] };
  assert.equal(results.robust.length, 4 * 7, 'four strategies × (clean + 2 counts × 3 attacks)');
  const err = (strategy: string, scenario: string) => results.robust.find((x) => x.strategy === strategy && x.scenario === scenario)!.meanNormalError.at(-1)!;
  assert.ok(err('fedavg', '2 x100') > 1.2 * err('fedavg', 'clean'), `FedAvg with 2 ×100 attackers: normal error ${err('fedavg', '2 x100')} vs ${err('fedavg', 'clean')} clean`);
  assert.ok(err('median', '2 x100') < 1.1 * err('median', 'clean'), `median with 2 ×100 attackers: normal error ${err('median', '2 x100')} vs ${err('median', 'clean')} clean`);
});
