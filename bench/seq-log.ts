/** A growable log of (RTP sequence number, time) pairs in typed arrays: no object per packet. */
export class SeqLog {
  seq = new Uint16Array(4096);
  at = new Float64Array(4096);
  n = 0;

  /** Appends one pair. */
  push(seq: number, at: number): void {
    if (this.n === this.seq.length) {
      const seqs = new Uint16Array(this.n * 2);
      seqs.set(this.seq);
      const ats = new Float64Array(this.n * 2);
      ats.set(this.at);
      this.seq = seqs;
      this.at = ats;
    }
    this.seq[this.n] = seq;
    this.at[this.n] = at;
    this.n++;
  }

  /** The pairs stamped within [from, to] (times are non-decreasing). */
  range(from: number, to: number): { seq: Uint16Array; at: Float64Array } {
    let i = 0;
    while (i < this.n && this.at[i]! < from) i++;
    let j = i;
    while (j < this.n && this.at[j]! <= to) j++;
    return { seq: this.seq.slice(i, j), at: this.at.slice(i, j) };
  }

  /** Forgets every pair. */
  clear(): void {
    this.n = 0;
  }
}
