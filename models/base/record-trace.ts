// Records this host's feature vector v1 at 1 Hz for N seconds into a gzip'd CSV (header = the
// feature names), the data the shipped base model is trained from.
// Usage: npx tsx models/base/record-trace.ts <seconds> <out.csv.gz>
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { FEATURE_NAMES } from '../../agent/sense/features.ts';
import { Sampler } from '../../agent/sense/sampler.ts';
import { Counters } from '../../shared/observe/counters.ts';
import { createLogger } from '../../shared/observe/log.ts';

const [seconds, out] = process.argv.slice(2);
if (!seconds || !out) throw new Error('usage: record-trace.ts <seconds> <out.csv.gz>');
const lines = [['ts', ...FEATURE_NAMES].join(',')];
const sampler = new Sampler({ intervalMs: 1000, log: createLogger('record', 'warn', 2), counters: new Counters() });
let first = true;
sampler.onSample(({ ts, v }) => {
  if (first) return void (first = false); // the first tick has no rates yet
  lines.push([ts, ...v.map((x) => +x.toFixed(4))].join(','));
});
const save = () => writeFileSync(out, gzipSync(lines.join('\n') + '\n'));
sampler.start();
const flush = setInterval(save, 60_000);
setTimeout(() => {
  sampler.stop();
  clearInterval(flush);
  save();
  process.stderr.write(`recorded ${lines.length - 1} samples to ${out}\n`);
}, Number(seconds) * 1000);
