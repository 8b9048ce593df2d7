/** Small statistics helpers: percentiles over number arrays, rounding for the report. */

/** The q-th quantile (0..1) of `values` by nearest rank; NaN when empty. Sorts a copy. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sortedQuantile(sorted, q);
}

/** The q-th quantile of an already sorted array by nearest rank. */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** p50, p99 and max of `values` (NaN when empty). */
export function summary(values: ArrayLike<number>): { p50: number; p99: number; max: number; n: number } {
  const sorted = Float64Array.from(values).sort();
  return { p50: sortedQuantile(sorted, 0.5), p99: sortedQuantile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN, n: sorted.length };
}

/** Rounds to `digits` decimals; null for NaN so JSON stays valid. */
export function round(x: number, digits = 2): number | null {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across local processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
