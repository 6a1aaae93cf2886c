/**
 * Multinomial logistic regression (softmax) with L2, fitted by full-batch gradient descent with
 * Adam steps from zero weights: deterministic, no dependencies. Rows have dense features and,
 * optionally, sparse binary ones (indices of the features present), each with its own L2.
 */

import { linearScores, softmax } from '../../workers/analyzers/numeric.js';

export interface SoftmaxModel {
  /** weights[class][feature] */
  weights: number[][];
  bias: number[];
  /** sparseWeights[class][index], when fitted with sparse features. */
  sparseWeights?: number[][];
}

export interface FitOptions {
  l2: number;
  /** L2 of the sparse weights (defaults to l2). */
  l2Sparse?: number;
  /** Weigh each class by n / (classes · n_class), so rare classes count as much as common ones. */
  balance: boolean;
  iterations?: number;
  learningRate?: number;
}

export interface SparseInput {
  rows: number[][];
  dims: number;
}

export function predictSoftmax(model: SoftmaxModel, x: number[], sparse: number[] = []): number[] {
  const logits = linearScores(model.weights, model.bias, x);
  model.sparseWeights?.forEach((sw, c) => {
    for (const f of sparse) logits[c]! += sw[f] ?? 0;
  });
  return softmax(logits);
}

export function fitSoftmax(xs: number[][], ys: number[], classes: number, options: FitOptions, sparse?: SparseInput): SoftmaxModel {
  const n = xs.length;
  const d = xs[0]?.length ?? 0;
  const s = sparse?.dims ?? 0;
  const iterations = options.iterations ?? 1500;
  const lr = options.learningRate ?? 0.05;
  const l2Sparse = options.l2Sparse ?? options.l2;
  const counts = Array.from({ length: classes }, (_, c) => ys.filter((y) => y === c).length);
  const sampleWeight = ys.map((y) => (options.balance ? n / (classes * Math.max(1, counts[y]!)) : 1));
  // Parameters per class: d dense weights, the bias, then s sparse weights.
  const stride = d + 1 + s;
  const size = classes * stride;
  const W = new Float64Array(size);
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const grad = new Float64Array(size);
  const rows = xs.map((x) => Float64Array.from(x));
  const logits = new Float64Array(classes);
  const b1 = 0.9;
  const b2 = 0.999;
  for (let t = 1; t <= iterations; t++) {
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      const active = sparse?.rows[i] ?? [];
      let max = -Infinity;
      for (let c = 0; c < classes; c++) {
        const base = c * stride;
        let z = W[base + d]!;
        for (let k = 0; k < d; k++) z += W[base + k]! * row[k]!;
        for (const f of active) z += W[base + d + 1 + f]!;
        logits[c] = z;
        if (z > max) max = z;
      }
      let total = 0;
      for (let c = 0; c < classes; c++) total += logits[c] = Math.exp(logits[c]! - max);
      const w = sampleWeight[i]! / n;
      for (let c = 0; c < classes; c++) {
        const err = (logits[c]! / total - (ys[i] === c ? 1 : 0)) * w;
        const base = c * stride;
        for (let k = 0; k < d; k++) grad[base + k]! += err * row[k]!;
        grad[base + d]! += err;
        for (const f of active) grad[base + d + 1 + f]! += err;
      }
    }
    for (let idx = 0; idx < size; idx++) {
      const k = idx % stride;
      const l2 = k < d ? options.l2 : k === d ? 0 : l2Sparse;
      const g = grad[idx]! + l2 * W[idx]!;
      if (g === 0 && m[idx] === 0) continue;
      m[idx] = b1 * m[idx]! + (1 - b1) * g;
      v[idx] = b2 * v[idx]! + (1 - b2) * g * g;
      W[idx]! -= (lr * (m[idx]! / (1 - b1 ** t))) / (Math.sqrt(v[idx]! / (1 - b2 ** t)) + 1e-8);
    }
  }
  const model: SoftmaxModel = { weights: [], bias: [] };
  if (s > 0) model.sparseWeights = [];
  for (let c = 0; c < classes; c++) {
    const base = c * stride;
    model.weights.push(Array.from(W.subarray(base, base + d)));
    model.bias.push(W[base + d]!);
    if (s > 0) model.sparseWeights!.push(Array.from(W.subarray(base + d + 1, base + stride)));
  }
  return model;
}
