// Summaries of repeated measurements: median, quartiles, and how sure the median is.

/** A set of measurements of one figure, summed up. */
export interface Spread {
  median: number;
  /** First and third quartiles: half the measurements lie between them. */
  q1: number;
  q3: number;
  /** `q3 - q1`. */
  iqr: number;
  /**
   * Half the width of the median's 95 % interval, `1.58 × IQR / √n` (the notch of a box plot,
   * McGill, Tukey and Larsen 1978): two runs whose medians differ by more than about twice this
   * measured different things, not noise.
   */
  ci95: number;
  n: number;
}

/** The value at quantile `q` (0 … 1) of sorted values, interpolated between neighbours. */
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (at - low);
}

export function median(values: number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

export function spread(values: number[]): Spread {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  const iqr = q3 - q1;
  return {
    median: quantile(sorted, 0.5),
    q1,
    q3,
    iqr,
    ci95: sorted.length > 0 ? (1.58 * iqr) / Math.sqrt(sorted.length) : Number.NaN,
    n: sorted.length,
  };
}

/** The ratios a[i] / b[i] of two series measured pair by pair. */
export function ratios(a: number[], b: number[]): number[] {
  return a.map((v, i) => v / (b[i] as number));
}
