// Training cost: time per epoch of 10,000 windows for the agent's shape (14 features) and the SMD
// shape (38), with the default architecture, next to a baseline from the same run: one
// inference pass (spec.ts forward) over the same 10,000 windows.
import { train, DEFAULT_TRAIN } from '../agent/learn/trainer.ts';
import { gaussian, mulberry32 } from '../agent/learn/rng.ts';
import { windows } from '../models/autoencoder/scorer.ts';
import { forward } from '../models/autoencoder/spec.ts';
import { machineLine } from './machine.ts';

const WINDOWS = 10_000;
const rowsNeeded = Math.ceil((WINDOWS + DEFAULT_TRAIN.window) / (1 - DEFAULT_TRAIN.valFraction));
const out: string[] = [];
for (const f of [14, 38]) {
  const g = gaussian(mulberry32(f));
  const rows = Float32Array.from({ length: rowsNeeded * f }, (_, i) => Math.sin(i / (7 * f)) + 0.1 * g());
  const epochs: number[] = [];
  let last = performance.now();
  const model = await train(rows, f, {
    epochs: 3,
    patience: 100,
    windowsPerEpoch: WINDOWS,
    onEpoch: () => {
      const now = performance.now();
      epochs.push(now - last);
      last = now;
    },
  });
  const x = windows(rows.subarray(0, (WINDOWS + model.window - 1) * f), f, model.window);
  const t0 = performance.now();
  forward(model, x);
  const inference = performance.now() - t0;
  const epoch = epochs.reduce((a, b) => a + b, 0) / epochs.length;
  const params = model.layers.reduce((s, l) => s + l.weight.length + l.bias.length, 0);
  out.push(`| ${f} | ${params} | ${(epoch / 1000).toFixed(2)} s | ${(inference / 1000).toFixed(2)} s | ${(epoch / inference).toFixed(1)}× |`);
}
console.log(`## Training time (window ${DEFAULT_TRAIN.window}, encoder ${DEFAULT_TRAIN.hidden.join('→')}, ${WINDOWS} windows per epoch, mean of 3 epochs incl. validation)

${machineLine()}

| features | parameters | one epoch | baseline: one inference pass over the same windows | ratio |
|---|---|---|---|---|
${out.join('\n')}
`);
