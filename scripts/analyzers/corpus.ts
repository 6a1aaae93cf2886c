import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DistortionCategory, EmotionName, EmotionStatus } from '../../workers/analyzers/analyzer.js';

/** The labelled diary corpus of test/fixtures/diary-corpus/ (see its README.md): loading only. */

export const CORPUS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/diary-corpus');
export const SPLITS = ['train', 'dev', 'test'] as const;
export type Split = (typeof SPLITS)[number];
export const LANGS = ['en', 'ko', 'mixed'] as const;
export type CorpusLang = (typeof LANGS)[number];

export interface CorpusEntry {
  id: string;
  lang: CorpusLang;
  text: string;
  status: EmotionStatus;
  dominant_emotion: EmotionName | null;
  distortions: Array<{ category: DistortionCategory; sentence: string }>;
  tags: string[];
}

export function readSplit(split: Split): CorpusEntry[] {
  return readFileSync(path.join(CORPUS_DIR, `${split}.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CorpusEntry);
}
