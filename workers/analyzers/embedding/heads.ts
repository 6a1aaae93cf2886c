import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DISTORTIONS, EMOTIONS, type DistortionCategory, type EmotionName, type EmotionStatus } from '../analyzer.js';
import { linearScores, sigmoid, softmax as softmaxOf } from '../numeric.js';
import { EMOTION_STATUSES } from '../../../kernel/contracts/statuses.js';
import { featureWidths, VARIANTS, type VariantName } from './features.js';

/**
 * The trained heads of the embedding analyzers (data/heads.json, written by
 * scripts/analyzers/train-embedding-heads.ts): linear models over the features of features.ts,
 * softmax for status and dominant emotion, one sigmoid per distortion category with a threshold
 * picked by cross-validation on train. Standardisation is folded into the weights, so a head is
 * one dot product per class. Each weight row is stored as base64 little-endian float32.
 */

export const HEADS_FILE = new URL('./data/heads.json', import.meta.url);

const row = z.string().min(1);
const linear = z.object({ weights: z.array(row).min(1), bias: z.array(z.number()).min(1) });

const variantSchema = z.object({
  status: linear.extend({ classes: z.tuple([z.enum(EMOTION_STATUSES), z.enum(EMOTION_STATUSES), z.enum(EMOTION_STATUSES)]) }),
  emotion: linear.extend({ classes: z.array(z.enum(EMOTIONS)).length(EMOTIONS.length) }),
  distortion: linear.extend({ classes: z.array(z.enum(DISTORTIONS)).length(DISTORTIONS.length), thresholds: z.array(z.number().min(0).max(1)).length(DISTORTIONS.length) }),
  /** Hyper-parameters and cross-validated scores at fitting time, for the record. */
  fit: z.record(z.string(), z.unknown()).optional(),
});

const fileSchema = z.object({
  version: z.string(),
  /** The sidecar's model id; a sidecar serving another model is not used. */
  model: z.string(),
  inputType: z.enum(['query', 'passage']),
  dimensions: z.number().int().positive(),
  rulesVersion: z.string(),
  train: z.object({ entries: z.number().int(), sha256: z.string() }),
  variants: z.object({ embedding: variantSchema, ensemble: variantSchema }),
});

export type HeadsFile = z.infer<typeof fileSchema>;
export type StoredVariant = z.infer<typeof variantSchema>;

export interface Linear {
  weights: Float32Array[];
  bias: number[];
}

export interface VariantHeads {
  status: Linear & { classes: EmotionStatus[] };
  emotion: Linear & { classes: EmotionName[] };
  distortion: Linear & { classes: DistortionCategory[]; thresholds: number[] };
}

export interface Heads {
  version: string;
  model: string;
  inputType: 'query' | 'passage';
  dimensions: number;
  rulesVersion: string;
  variants: Record<VariantName, VariantHeads>;
}

export function encodeRow(values: ArrayLike<number>): string {
  return Buffer.from(Float32Array.from(values).buffer).toString('base64');
}

function decodeRow(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

export function parseHeads(json: unknown): Heads {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`embedding heads: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const file = parsed.data;
  const variants = Object.fromEntries(VARIANTS.map((name) => [name, loadVariant(file.variants[name], file.dimensions, name)])) as Record<VariantName, VariantHeads>;
  return { version: file.version, model: file.model, inputType: file.inputType, dimensions: file.dimensions, rulesVersion: file.rulesVersion, variants };
}

/** One stored variant, decoded and checked against the feature widths of features.ts. */
export function loadVariant(stored: StoredVariant, dimensions: number, name: VariantName): VariantHeads {
  const widths = featureWidths(dimensions, name);
  const load = <T extends { weights: string[]; bias: number[] }>(head: string, h: T, width: number): Omit<T, 'weights'> & Linear => {
    const weights = h.weights.map(decodeRow);
    if (weights.length !== h.bias.length || weights.some((w) => w.length !== width)) {
      throw new Error(`embedding heads: variants.${name}.${head}: weights do not match ${width} features (retrain the heads)`);
    }
    return { ...h, weights };
  };
  return {
    status: load('status', stored.status, widths.entry),
    emotion: load('emotion', stored.emotion, widths.entry),
    distortion: load('distortion', stored.distortion, widths.sentence),
  };
}

let shipped: Heads | undefined;
/** The heads committed with the code (read once). */
export function loadShippedHeads(): Heads {
  shipped ??= parseHeads(JSON.parse(readFileSync(HEADS_FILE, 'utf8')));
  return shipped;
}

export function softmax(head: Linear, x: ArrayLike<number>): number[] {
  return softmaxOf(linearScores(head.weights, head.bias, x));
}

export function sigmoids(head: Linear, x: ArrayLike<number>): number[] {
  return linearScores(head.weights, head.bias, x).map(sigmoid);
}
