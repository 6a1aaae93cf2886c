/**
 * L2-regularised logistic regression, fitted by full-batch Adam on standardised features: softmax
 * for one-of-K heads, independent sigmoids for multi-label ones. The standardisation is folded into
 * the returned weights, so the run-time side (workers/analyzers/embedding/heads.ts) applies a head
 * to raw features with one dot product per class. Deterministic: zero initialisation, no sampling.
 */

export interface Linear {
  weights: number[][];
  bias: number[];
}

export interface FitOptions {
  l2: number;
  epochs?: number;
  learningRate?: number;
  /** Per-sample weights (class balancing). */
  sampleWeights?: number[];
}

function standardise(X: Float64Array[]): { mean: Float64Array; scale: Float64Array; Z: Float64Array[] } {
  const d = X[0]!.length;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d);
  for (const x of X) for (let j = 0; j < d; j++) mean[j]! += x[j]! / X.length;
  for (const x of X) for (let j = 0; j < d; j++) scale[j]! += (x[j]! - mean[j]!) ** 2 / X.length;
  for (let j = 0; j < d; j++) scale[j] = Math.sqrt(scale[j]!) || 1;
  const Z = X.map((x) => x.map((v, j) => (v - mean[j]!) / scale[j]!));
  return { mean, scale, Z };
}

/** Back to raw features: w' = w / scale, b' = b - Σ w·mean/scale. */
function fold(W: Float64Array[], b: Float64Array, mean: Float64Array, scale: Float64Array): Linear {
  return {
    weights: W.map((w) => Array.from(w, (v, j) => v / scale[j]!)),
    bias: Array.from(b, (v, k) => v - W[k]!.reduce((s, wj, j) => s + (wj * mean[j]!) / scale[j]!, 0)),
  };
}

/**
 * Gradient steps shared by both losses: `grad(scores, i)` returns d loss / d score for sample i
 * (K values), given its K scores.
 */
function adam(Z: Float64Array[], K: number, options: FitOptions, grad: (scores: Float64Array, i: number) => Float64Array): { W: Float64Array[]; b: Float64Array } {
  const n = Z.length;
  const d = Z[0]!.length;
  const W = Array.from({ length: K }, () => new Float64Array(d));
  const b = new Float64Array(K);
  const mW = Array.from({ length: K }, () => new Float64Array(d));
  const vW = Array.from({ length: K }, () => new Float64Array(d));
  const mb = new Float64Array(K);
  const vb = new Float64Array(K);
  const lr = options.learningRate ?? 0.05;
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const sw = options.sampleWeights ?? new Array<number>(n).fill(1);
  const total = sw.reduce((a, c) => a + c, 0);
  const scores = new Float64Array(K);
  for (let t = 1; t <= (options.epochs ?? 300); t++) {
    const gW = Array.from({ length: K }, () => new Float64Array(d));
    const gb = new Float64Array(K);
    for (let i = 0; i < n; i++) {
      const z = Z[i]!;
      for (let k = 0; k < K; k++) {
        let s = b[k]!;
        const w = W[k]!;
        for (let j = 0; j < d; j++) s += w[j]! * z[j]!;
        scores[k] = s;
      }
      const g = grad(scores, i);
      const weight = sw[i]! / total;
      for (let k = 0; k < K; k++) {
        const gk = g[k]! * weight;
        if (gk === 0) continue;
        gb[k]! += gk;
        const row = gW[k]!;
        for (let j = 0; j < d; j++) row[j]! += gk * z[j]!;
      }
    }
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    for (let k = 0; k < K; k++) {
      const w = W[k]!;
      const gw = gW[k]!;
      for (let j = 0; j < d; j++) {
        const g = gw[j]! + options.l2 * w[j]!;
        mW[k]![j] = beta1 * mW[k]![j]! + (1 - beta1) * g;
        vW[k]![j] = beta2 * vW[k]![j]! + (1 - beta2) * g * g;
        w[j]! -= (lr * (mW[k]![j]! / c1)) / (Math.sqrt(vW[k]![j]! / c2) + eps);
      }
      mb[k] = beta1 * mb[k]! + (1 - beta1) * gb[k]!;
      vb[k] = beta2 * vb[k]! + (1 - beta2) * gb[k]! ** 2;
      b[k]! -= (lr * (mb[k]! / c1)) / (Math.sqrt(vb[k]! / c2) + eps);
    }
  }
  return { W, b };
}

/** One-of-K: y[i] in 0..K-1. */
export function fitSoftmax(X: Float64Array[], y: number[], K: number, options: FitOptions): Linear {
  const { mean, scale, Z } = standardise(X);
  const g = new Float64Array(K);
  const { W, b } = adam(Z, K, options, (s, i) => {
    const max = Math.max(...s);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(s[k]! - max);
    for (let k = 0; k < K; k++) g[k] = Math.exp(s[k]! - max) / sum - (y[i] === k ? 1 : 0);
    return g;
  });
  return fold(W, b, mean, scale);
}

/** Multi-label: Y[i][k] in {0, 1}; each label is weighted so its positives and negatives count alike (capped). */
export function fitBinaries(X: Float64Array[], Y: number[][], options: FitOptions & { maxPositiveWeight?: number }): Linear {
  const { mean, scale, Z } = standardise(X);
  const K = Y[0]!.length;
  const pos = Array.from({ length: K }, (_, k) => Y.reduce((s, row) => s + row[k]!, 0));
  const posWeight = pos.map((p) => Math.min(options.maxPositiveWeight ?? 10, p > 0 ? (Y.length - p) / p : 1));
  const g = new Float64Array(K);
  const { W, b } = adam(Z, K, options, (s, i) => {
    for (let k = 0; k < K; k++) {
      const p = 1 / (1 + Math.exp(-s[k]!));
      const yk = Y[i]![k]!;
      g[k] = yk ? (p - 1) * posWeight[k]! : p;
    }
    return g;
  });
  return fold(W, b, mean, scale);
}
