/**
 * The detector's memory of raw samples: a ring of the last `capacity` feature vectors, each
 * numbered by a sequence that never repeats. Windows for scoring are cut from it, and so is the
 * recent normal data a new model is calibrated on before it replaces the current one. At the
 * limit the oldest sample is overwritten: that is the ring's purpose, so it is not counted.
 */
export class SampleHistory {
  private data: Float32Array;
  private normal: Uint8Array;
  private nextSeq = 0;

  constructor(
    readonly features: number,
    private cap: number,
  ) {
    this.data = new Float32Array(cap * features);
    this.normal = new Uint8Array(cap);
  }

  get capacity(): number {
    return this.cap;
  }

  /** Sequence number of the newest sample, -1 when empty. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Samples held (at most capacity). */
  get size(): number {
    return Math.min(this.nextSeq, this.cap);
  }

  has(seq: number): boolean {
    return seq >= 0 && seq < this.nextSeq && seq >= this.nextSeq - this.cap;
  }

  push(v: ArrayLike<number>): number {
    const seq = this.nextSeq++;
    const slot = seq % this.cap;
    for (let f = 0; f < this.features; f++) this.data[slot * this.features + f] = v[f]!;
    this.normal[slot] = 0;
    return seq;
  }

  /** Marks the window ending at `seq` as normal: its score went into the threshold calibration. */
  markNormal(seq: number): void {
    if (this.has(seq)) this.normal[seq % this.cap] = 1;
  }

  isNormal(seq: number): boolean {
    return this.has(seq) && this.normal[seq % this.cap] === 1;
  }

  /** Copies the `window` samples ending at `endSeq` into out[offset...]; false if any is gone. */
  copyWindow(endSeq: number, window: number, out: Float32Array, offset: number): boolean {
    const first = endSeq - window + 1;
    if (!this.has(first) || !this.has(endSeq)) return false;
    for (let s = first; s <= endSeq; s++) {
      const slot = s % this.cap;
      out.set(this.data.subarray(slot * this.features, (slot + 1) * this.features), offset + (s - first) * this.features);
    }
    return true;
  }

  /** Grows the ring, keeping every sample and flag (a swapped-in model may need a longer window). */
  grow(capacity: number): void {
    if (capacity <= this.cap) return;
    const data = new Float32Array(capacity * this.features);
    const normal = new Uint8Array(capacity);
    for (let s = this.nextSeq - this.size; s < this.nextSeq; s++) {
      const from = s % this.cap;
      const to = s % capacity;
      data.set(this.data.subarray(from * this.features, (from + 1) * this.features), to * this.features);
      normal[to] = this.normal[from]!;
    }
    this.data = data;
    this.normal = normal;
    this.cap = capacity;
  }
}
