import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CORPUS_DIR } from '../../../scripts/analyzers/corpus.js';
import { OFFLINE_ANALYZER_VERSION } from '../../../workers/analyzers/offline/offline-analyzer.js';
import { fitBinaries, fitSoftmax } from '../../../scripts/analyzers/logistic.js';
import { EMBEDDING_MODEL } from '../../../scripts/services/embedding.js';
import { entryTexts, featureWidths, MAX_SENTENCES, textsToEmbed } from '../../../workers/analyzers/embedding/features.js';
import { encodeRow, loadShippedHeads, sigmoids, softmax } from '../../../workers/analyzers/embedding/heads.js';

/** Two Gaussian-ish clouds from a fixed LCG: deterministic data for the fitting math. */
function points(n: number, seed: number): { X: Float64Array[]; y: number[] } {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  const X: Float64Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    // Feature 1 is on a large scale and offset, so folding the standardisation into the weights is exercised.
    X.push(Float64Array.from([c + rnd() * 0.6, 1_000 + 100 * (c === 2 ? 1 : 0) + rnd() * 30, rnd()]));
    y.push(c);
  }
  return { X, y };
}

const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));
const linear = (h: { weights: number[][]; bias: number[] }) => ({ weights: h.weights.map((w) => Float32Array.from(w)), bias: h.bias });

describe('embedding heads: fitting and applying', () => {
  it('when a softmax head is fitted on separable classes, then applied to raw features it classifies held-out points', () => {
    const train = points(300, 7);
    const test = points(90, 11);
    const head = fitSoftmax(train.X, train.y, 3, { l2: 0.001, epochs: 200 });
    const correct = test.X.filter((x, i) => argmax(softmax(linear(head), x)) === test.y[i]).length;
    expect(correct / test.X.length).to.be.greaterThan(0.95);
  });

  it('when the same data is fitted twice, then the weights are identical (no randomness)', () => {
    const { X, y } = points(60, 3);
    expect(fitSoftmax(X, y, 3, { l2: 0.01, epochs: 50 })).to.deep.equal(fitSoftmax(X, y, 3, { l2: 0.01, epochs: 50 }));
  });

  it('when binary heads are fitted for two labels, then each sigmoid separates its own label', () => {
    const { X, y } = points(300, 5);
    const Y = y.map((c) => [c === 0 ? 1 : 0, c === 2 ? 1 : 0]);
    const head = fitBinaries(X, Y, { l2: 0.001, epochs: 200 });
    const probs = X.map((x) => sigmoids(linear(head), x));
    const accuracy = (k: number) => probs.filter((p, i) => (p[k]! >= 0.5 ? 1 : 0) === Y[i]![k]).length / X.length;
    expect(accuracy(0)).to.be.greaterThan(0.95);
    expect(accuracy(1)).to.be.greaterThan(0.95);
  });

  it('when a weight row is encoded, then it is base64 float32 that the shipped heads decode to the right widths', () => {
    expect(Buffer.from(encodeRow([1, -2.5]), 'base64')).to.have.length(8);
    const heads = loadShippedHeads();
    expect(heads.model).to.equal(EMBEDDING_MODEL);
    for (const variant of ['embedding', 'ensemble'] as const) {
      const widths = featureWidths(heads.dimensions, variant);
      const h = heads.variants[variant];
      expect(h.status.weights.map((w) => w.length)).to.deep.equal([widths.entry, widths.entry, widths.entry]);
      expect(h.distortion.weights).to.have.length(10);
      expect(h.distortion.thresholds.every((t) => t > 0 && t < 1)).to.equal(true);
    }
  });

  it('when the train split or the rules version changes, then the shipped heads must be refitted (npx tsx scripts/analyzers/train-embedding-heads.ts)', () => {
    const file = JSON.parse(readFileSync(new URL('../../../workers/analyzers/embedding/data/heads.json', import.meta.url), 'utf8')) as { train: { sha256: string }; rulesVersion: string };
    expect(file.train.sha256).to.equal(createHash('sha256').update(readFileSync(path.join(CORPUS_DIR, 'train.jsonl'))).digest('hex'));
    // The ensemble reads the rules' outputs: heads fitted on other rules see other features.
    expect(file.rulesVersion).to.equal(OFFLINE_ANALYZER_VERSION);
  });

  it('when an entry has more sentences than are embedded, then the first ones and the last are sent, entry first', () => {
    const content = Array.from({ length: MAX_SENTENCES + 6 }, (_, i) => `Sentence number ${i}.`).join(' ');
    const texts = entryTexts({ title: 'Title', content });
    expect(texts.embedded).to.have.length(MAX_SENTENCES);
    expect(texts.embedded.at(-1)).to.equal(MAX_SENTENCES + 5);
    const sent = textsToEmbed(texts);
    expect(sent[0]).to.match(/^Title\nSentence number 0\./);
    expect(sent.at(-1)).to.equal(`Sentence number ${MAX_SENTENCES + 5}.`);
    expect(entryTexts({ title: null, content: '' })).to.deep.equal({ entry: '.', sentences: [], embedded: [] });
  });
});
