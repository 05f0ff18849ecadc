import { debounceStep, DebounceOptionsSchema, INITIAL_DEBOUNCE, type DebounceOptionsInput } from '../../agent/detect/debounce.ts';
import { ThresholdCalibrator, type ThresholdOptionsInput } from '../../agent/detect/threshold.ts';
import { f1At, type Prf } from './metrics.ts';

/**
 * F1 of what the deployed agent would flag: the detector's loop (agent/detect/detector.ts
 * `judge`) replayed over the test scores with its default options. SPOT is warmed on the tail
 * of the train scores; a tick is over when its score exceeds the current threshold; k-of-n
 * debounce opens and closes anomalies; a score is learned as normal only once it is n ticks old
 * and no anomaly opened meanwhile, and never while one is open. A row counts as flagged while
 * an anomaly is open, so the figure includes the debounce's delay and its loss of short blips.
 * The returned `threshold` is the last one; `episodes` counts the anomalies opened and
 * `falseEpisodes` those during which no row was labelled anomalous (what would page someone for nothing).
 */
export function spotF1(
  trainScores: ArrayLike<number>,
  testScores: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: { threshold?: ThresholdOptionsInput; debounce?: DebounceOptionsInput } = {},
): Prf & { episodes: number; falseEpisodes: number } {
  const calibrator = new ThresholdCalibrator(options.threshold);
  const debounce = DebounceOptionsSchema.parse(options.debounce ?? {});
  const { capacity } = calibrator.options;
  for (let i = Math.max(0, trainScores.length - capacity); i < trainScores.length; i++) calibrator.add(trainScores[i]!);
  let state = INITIAL_DEBOUNCE;
  let pending: number[] = [];
  const flags = new Uint8Array(testScores.length);
  let episodes = 0;
  let falseEpisodes = 0;
  let labelledInEpisode = false;
  for (let i = 0; i < testScores.length; i++) {
    const score = testScores[i]!;
    const threshold = calibrator.threshold;
    const step = debounceStep(state, threshold !== null && score > threshold, debounce);
    state = step.state;
    if (step.transition === 'opened') pending = [];
    else if (!state.open && step.transition !== 'closed') {
      pending.push(score);
      while (pending.length > debounce.n) calibrator.add(pending.shift()!);
    }
    flags[i] = state.open ? 1 : 0;
    if (step.transition === 'opened') {
      episodes++;
      labelledInEpisode = false;
    }
    if (state.open && labels[i]) labelledInEpisode = true;
    if (step.transition === 'closed' || (state.open && i === testScores.length - 1)) if (!labelledInEpisode) falseEpisodes++;
  }
  return { ...f1At(flags, labels, 1), threshold: calibrator.threshold ?? NaN, episodes, falseEpisodes };
}
