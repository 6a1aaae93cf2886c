/** The small arithmetic the analyzers' fitted models share: linear scores, softmax, sigmoid, rounding. */

/** bias[c] + Σ weights[c][i]·x[i] for each class c. */
export function linearScores(weights: ArrayLike<number>[], bias: ArrayLike<number>, x: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let c = 0; c < weights.length; c++) {
    const row = weights[c]!;
    let s = bias[c] ?? 0;
    for (let i = 0; i < row.length; i++) s += row[i]! * (x[i] ?? 0);
    out.push(s);
  }
  return out;
}

export function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const total = exps.reduce((s, e) => s + e, 0);
  return exps.map((e) => e / total);
}

export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** The index of the largest value (the first one on ties). */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

export function clamp(x: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, x));
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f + 0;
}
