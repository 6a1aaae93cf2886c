/**
 * Multinomial logistic regression (softmax) with L2, fitted by full-batch gradient descent with
 * Adam steps from zero weights: deterministic, no dependencies, fine for a few thousand rows and
 * a hundred features.
 */

export interface SoftmaxModel {
  /** weights[class][feature] */
  weights: number[][];
  bias: number[];
}

export interface FitOptions {
  l2: number;
  /** Weigh each class by n / (classes · n_class), so rare classes count as much as common ones. */
  balance: boolean;
  iterations?: number;
  learningRate?: number;
}

export function predictSoftmax(model: SoftmaxModel, x: number[]): number[] {
  const logits = model.weights.map((row, c) => row.reduce((s, w, i) => s + w * (x[i] ?? 0), model.bias[c] ?? 0));
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const total = exps.reduce((s, e) => s + e, 0);
  return exps.map((e) => e / total);
}

export function fitSoftmax(xs: number[][], ys: number[], classes: number, options: FitOptions): SoftmaxModel {
  const n = xs.length;
  const d = xs[0]?.length ?? 0;
  const iterations = options.iterations ?? 1500;
  const lr = options.learningRate ?? 0.05;
  const counts = Array.from({ length: classes }, (_, c) => ys.filter((y) => y === c).length);
  const sampleWeight = ys.map((y) => (options.balance ? n / (classes * Math.max(1, counts[y]!)) : 1));
  const model: SoftmaxModel = { weights: Array.from({ length: classes }, () => new Array<number>(d).fill(0)), bias: new Array<number>(classes).fill(0) };
  // Adam state, one entry per parameter (weights then bias).
  const size = classes * (d + 1);
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const b1 = 0.9;
  const b2 = 0.999;
  const rows = xs.map((x) => Float64Array.from(x));
  const W = new Float64Array(size); // [class][feature..., bias]
  const logits = new Float64Array(classes);
  const grad = new Float64Array(size);
  for (let t = 1; t <= iterations; t++) {
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      let max = -Infinity;
      for (let c = 0; c < classes; c++) {
        const base = c * (d + 1);
        let z = W[base + d]!;
        for (let k = 0; k < d; k++) z += W[base + k]! * row[k]!;
        logits[c] = z;
        if (z > max) max = z;
      }
      let total = 0;
      for (let c = 0; c < classes; c++) total += logits[c] = Math.exp(logits[c]! - max);
      const w = sampleWeight[i]! / n;
      for (let c = 0; c < classes; c++) {
        const err = (logits[c]! / total - (ys[i] === c ? 1 : 0)) * w;
        const base = c * (d + 1);
        for (let k = 0; k < d; k++) grad[base + k]! += err * row[k]!;
        grad[base + d]! += err;
      }
    }
    for (let idx = 0; idx < size; idx++) {
      const isBias = idx % (d + 1) === d;
      const g = grad[idx]! + (isBias ? 0 : options.l2 * W[idx]!);
      m[idx] = b1 * m[idx]! + (1 - b1) * g;
      v[idx] = b2 * v[idx]! + (1 - b2) * g * g;
      W[idx]! -= (lr * (m[idx]! / (1 - b1 ** t))) / (Math.sqrt(v[idx]! / (1 - b2 ** t)) + 1e-8);
    }
  }
  for (let c = 0; c < classes; c++) {
    const base = c * (d + 1);
    model.weights[c] = Array.from(W.subarray(base, base + d));
    model.bias[c] = W[base + d]!;
  }
  return model;
}
