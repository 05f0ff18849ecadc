/**
 * Detection metrics as this field reports them (see the SMD README): point-wise best-F1 over all
 * thresholds, point-adjusted F1, and F1 at a threshold fixed without test labels.
 */
export interface Prf {
  f1: number;
  p: number;
  r: number;
  threshold: number;
}

function prf(tp: number, fp: number, fn: number, threshold: number): Prf {
  const p = tp + fp > 0 ? tp / (tp + fp) : 0;
  const r = tp + fn > 0 ? tp / (tp + fn) : 0;
  return { f1: p + r > 0 ? (2 * p * r) / (p + r) : 0, p, r, threshold };
}

/** Points with score >= threshold are flagged. */
export function f1At(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): Prf {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const flag = scores[i]! >= threshold;
    if (flag && labels[i]) tp++;
    else if (flag) fp++;
    else if (labels[i]) fn++;
  }
  return prf(tp, fp, fn, threshold);
}

/**
 * Exact point-wise best F1: sort once, sweep thresholds from the highest score down, moving
 * every point with equal score at once (ties cannot be split by a threshold). O(n log n).
 */
export function bestF1(scores: ArrayLike<number>, labels: ArrayLike<number>): Prf {
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labels[i] ? 1 : 0;
  let best = prf(0, 0, positives, Infinity);
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; ) {
    const s = scores[order[k]!]!;
    while (k < n && scores[order[k]!] === s) {
      if (labels[order[k]!]) tp++;
      else fp++;
      k++;
    }
    const cur = prf(tp, fp, positives - tp, s);
    if (cur.f1 > best.f1) best = cur;
  }
  return best;
}

/** Labelled segments: maximal runs of 1s, as [start, end] inclusive. */
export function segments(labels: ArrayLike<number>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < labels.length; i++) {
    if (!labels[i]) continue;
    const s = i;
    while (i + 1 < labels.length && labels[i + 1]) i++;
    out.push([s, i]);
  }
  return out;
}

/**
 * Point-adjusted F1 at its best threshold. Under PA a segment counts as wholly detected once
 * any of its points is flagged, i.e. from the segment's own maximum score down. So each segment
 * acts as one "point" scored by its maximum and weighing its length, and the exact sweep above
 * applies: O(n log n).
 */
export function bestPaF1(scores: ArrayLike<number>, labels: ArrayLike<number>): Prf {
  const items: Array<{ s: number; pos: number; neg: number }> = [];
  for (let i = 0; i < labels.length; i++) if (!labels[i]) items.push({ s: scores[i]!, pos: 0, neg: 1 });
  let positives = 0;
  for (const [a, b] of segments(labels)) {
    let m = -Infinity;
    for (let i = a; i <= b; i++) m = Math.max(m, scores[i]!);
    items.push({ s: m, pos: b - a + 1, neg: 0 });
    positives += b - a + 1;
  }
  items.sort((x, y) => y.s - x.s);
  let best = prf(0, 0, positives, Infinity);
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < items.length; ) {
    const s = items[k]!.s;
    while (k < items.length && items[k]!.s === s) {
      tp += items[k]!.pos;
      fp += items[k]!.neg;
      k++;
    }
    const cur = prf(tp, fp, positives - tp, s);
    if (cur.f1 > best.f1) best = cur;
  }
  return best;
}

/** Point-adjusted F1 at a given threshold. */
export function paF1At(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): Prf {
  const adjusted = Float64Array.from({ length: labels.length }, (_, i) => scores[i]!);
  for (const [a, b] of segments(labels)) {
    let hit = false;
    for (let i = a; i <= b && !hit; i++) hit = scores[i]! >= threshold;
    if (hit) for (let i = a; i <= b; i++) adjusted[i] = Math.max(adjusted[i]!, threshold);
  }
  return f1At(adjusted, labels, threshold);
}

/**
 * The threshold a deployed agent can pick: a high quantile of the scores on its own training
 * data (no labels). The same rule for every scorer.
 */
export const TRAIN_QUANTILE = 0.995;

export function quantile(xs: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(xs).sort();
  if (s.length === 0) return NaN;
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Mean of the last w values (of fewer at the start), causally: a row score averaged over a window. */
export function trailingMean(x: Float64Array, w: number): Float64Array {
  let acc = 0;
  return x.map((v, t) => {
    acc += v - (t >= w ? x[t - w]! : 0);
    return acc / Math.min(w, t + 1);
  });
}

/** Per row of a row-major [n][f] matrix, the mean of its squared values: with z-scores, how far a row strays. */
export function rowMeanSquare(z: Float64Array, f: number): Float64Array {
  const n = z.length / f;
  const s = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let a = 0;
    for (let j = 0; j < f; j++) a += z[t * f + j]! ** 2;
    s[t] = a / f;
  }
  return s;
}
