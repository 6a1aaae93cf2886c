import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMOTION_STATUSES } from '../../../kernel/contracts/statuses.js';
import { DISTORTIONS, EMOTIONS } from '../../../workers/analyzers/analyzer.js';
import { ENGLISH_SUPPLEMENT, inEnglishSupplement } from '../../../scripts/analyzers/corpus.js';

/**
 * Shape and balance of the labelled diary corpus in test/fixtures/diary-corpus/ (see its README.md).
 * The corpus trains, tunes and evaluates the emotion analyzers, so a malformed line, a broken label
 * or a silently edited test split would skew every number computed from it.
 */

// The test split is frozen: its sha256 must not change. Changing test.jsonl on purpose requires a
// dated note in test/fixtures/diary-corpus/README.md ("Changes to the frozen test split") and a new
// checksum here in the same commit.
const TEST_SPLIT_SHA256 = 'de4f11bb76c064c24d00999729973455ad46148987e14a60fad55e39226a8cc4';

const CORPUS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/diary-corpus');
const SPLITS = ['train', 'dev', 'test'] as const;
type Split = (typeof SPLITS)[number];

const LANGS = ['en', 'ko', 'mixed'] as const;
const STATUSES = EMOTION_STATUSES;
// The corpus is labelled with the categories the analyzers report.
const CATEGORIES = DISTORTIONS;
const TAGS = [
  'contrast',
  'neutral_log',
  'idiomatic_emotion_word',
  'relief',
  'distortion_in_positive',
  'implicit_event',
  'negation',
  'hypothetical',
  'quoted_speech',
  'sarcasm',
  'long',
  'mixed_language',
  'multiple_distortions',
] as const;
const FIELDS = ['id', 'lang', 'text', 'status', 'dominant_emotion', 'distortions', 'tags'];
const ID_PREFIX: Record<(typeof LANGS)[number], string> = { en: 'en', ko: 'ko', mixed: 'mx' };

interface Distortion {
  category: string;
  sentence: string;
}
interface Entry {
  id: string;
  lang: string;
  text: string;
  status: string;
  dominant_emotion: string | null;
  distortions: Distortion[];
  tags: string[];
}

function readSplit(split: Split): { raw: string; lines: string[] } {
  const raw = readFileSync(path.join(CORPUS_DIR, `${split}.jsonl`), 'utf8');
  return { raw, lines: raw.split('\n').filter((line) => line.length > 0) };
}

const raw: Record<Split, string> = { train: '', dev: '', test: '' };
const entries: Record<Split, Entry[]> = { train: [], dev: [], test: [] };
for (const split of SPLITS) {
  const { raw: text, lines } = readSplit(split);
  raw[split] = text;
  entries[split] = lines.map((line) => JSON.parse(line) as Entry);
}
const all: Entry[] = SPLITS.flatMap((split) => entries[split]);

function share(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}
function countWhere(list: Entry[], predicate: (entry: Entry) => boolean): number {
  return list.filter(predicate).length;
}
function hasCategory(entry: Entry, category: string): boolean {
  return entry.distortions.some((d) => d.category === category);
}

// The English training supplement (scripts/analyzers/corpus.ts; README, "Split procedure"), added on 2026-12-02 to the
// train split only, to give the fitted heads more English text. It is outside the 60/15/25 design, so the
// size and split-share checks below describe the rest of the corpus (the frozen design and the earlier
// additions); the supplement has its own check.
const designed: Record<Split, Entry[]> = {
  train: entries.train.filter((e) => !inEnglishSupplement(e)),
  dev: entries.dev.filter((e) => !inEnglishSupplement(e)),
  test: entries.test.filter((e) => !inEnglishSupplement(e)),
};
const allDesigned: Entry[] = SPLITS.flatMap((split) => designed[split]);

describe('diary corpus fixture (test/fixtures/diary-corpus)', function () {
  it('when each split file is read, then every line is a JSON object, UTF-8 text without trailing spaces or blank lines', function () {
    for (const split of SPLITS) {
      const text = raw[split];
      expect(text.endsWith('\n'), `${split}.jsonl ends with a newline`).to.equal(true);
      expect(text.includes('\r'), `${split}.jsonl has no CR`).to.equal(false);
      expect(text.includes('\uFFFD'), `${split}.jsonl has no replacement characters`).to.equal(false);
      const lines = text.slice(0, -1).split('\n');
      lines.forEach((line, i) => {
        expect(line.length, `${split}.jsonl line ${i + 1} is not blank`).to.be.greaterThan(0);
        expect(line, `${split}.jsonl line ${i + 1} has no trailing space`).to.not.match(/\s$/);
        const parsed: unknown = JSON.parse(line);
        expect(parsed, `${split}.jsonl line ${i + 1}`).to.be.an('object').and.not.be.an('array');
      });
    }
  });

  it('when an entry is read, then it has exactly the documented fields with values from the enums', function () {
    // About 30,000 assertions: more than mocha's default 2 s on a busy machine when run without .mocharc.
    this.timeout(10_000);
    for (const entry of all) {
      const where = `entry ${entry.id}`;
      expect(Object.keys(entry).sort(), where).to.deep.equal([...FIELDS].sort());
      expect(entry.id, where).to.be.a('string').and.match(/^(en|ko|mx)-\d{4}$/);
      expect(LANGS as readonly string[], where).to.include(entry.lang);
      expect(entry.id.split('-')[0], `${where} id prefix matches lang`).to.equal(ID_PREFIX[entry.lang as (typeof LANGS)[number]]);
      expect(entry.text, where).to.be.a('string');
      expect(entry.text.trim().length, `${where} text is not empty`).to.be.greaterThan(0);
      expect(entry.text, `${where} text is trimmed`).to.equal(entry.text.trim());
      expect(STATUSES as readonly string[], where).to.include(entry.status);
      if (entry.dominant_emotion !== null) expect(EMOTIONS as readonly string[], where).to.include(entry.dominant_emotion);
      expect(entry.distortions, where).to.be.an('array');
      for (const d of entry.distortions) {
        expect(Object.keys(d).sort(), `${where} distortion fields`).to.deep.equal(['category', 'sentence']);
        expect(CATEGORIES as readonly string[], where).to.include(d.category);
        expect(d.sentence, where).to.be.a('string');
      }
      expect(entry.tags, where).to.be.an('array');
      for (const tag of entry.tags) expect(TAGS as readonly string[], where).to.include(tag);
      expect(new Set(entry.tags).size, `${where} tags are unique`).to.equal(entry.tags.length);
    }
  });

  it('when ids are collected across train, dev and test, then each id appears exactly once', function () {
    const seen = new Map<string, Split>();
    for (const split of SPLITS) {
      for (const entry of entries[split]) {
        expect(seen.has(entry.id), `${entry.id} in ${split} also in ${seen.get(entry.id) ?? ''}`).to.equal(false);
        seen.set(entry.id, split);
      }
    }
    expect(seen.size).to.equal(all.length);
  });

  it('when a distortion is labelled, then its sentence is a verbatim part of the entry text and no category is repeated on one sentence', function () {
    for (const entry of all) {
      const pairs = new Set<string>();
      for (const d of entry.distortions) {
        expect(d.sentence.trim().length, `${entry.id} distortion sentence is not empty`).to.be.greaterThan(0);
        expect(entry.text.includes(d.sentence), `${entry.id}: "${d.sentence}" is in the text`).to.equal(true);
        const key = `${d.category}\u0000${d.sentence}`;
        expect(pairs.has(key), `${entry.id} repeats ${d.category} on one sentence`).to.equal(false);
        pairs.add(key);
      }
    }
  });

  it('when dominant_emotion is null, then the status is NEUTRAL', function () {
    for (const entry of all) {
      if (entry.dominant_emotion === null) expect(entry.status, entry.id).to.equal('NEUTRAL');
    }
  });

  it('when tags derived from the labels are read, then they agree with the labels', function () {
    for (const entry of all) {
      const has = (tag: string): boolean => entry.tags.includes(tag);
      expect(has('mixed_language'), `${entry.id} mixed_language`).to.equal(entry.lang === 'mixed');
      expect(has('multiple_distortions'), `${entry.id} multiple_distortions`).to.equal(entry.distortions.length >= 2);
      expect(has('distortion_in_positive'), `${entry.id} distortion_in_positive`).to.equal(
        entry.status === 'POSITIVE' && entry.distortions.length > 0,
      );
      if (has('neutral_log')) expect(entry.status, `${entry.id} neutral_log`).to.equal('NEUTRAL');
    }
  });

  it('when the corpus is counted, then it has at least 960 entries, about 420 English, 420 Korean and 120 mixed (English training supplement aside)', function () {
    expect(allDesigned.length).to.be.at.least(960);
    const byLang = (lang: string): number => countWhere(allDesigned, (e) => e.lang === lang);
    expect(byLang('en')).to.be.within(400, 480);
    expect(byLang('ko')).to.be.within(400, 480);
    expect(byLang('mixed')).to.be.within(110, 160);
  });

  it('when each language is counted by status, then POSITIVE, NEGATIVE and NEUTRAL each hold 28% to 40%', function () {
    for (const lang of LANGS) {
      const inLang = all.filter((e) => e.lang === lang);
      for (const status of STATUSES) {
        const s = share(countWhere(inLang, (e) => e.status === status), inLang.length);
        expect(s, `${lang} ${status}`).to.be.within(0.28, 0.4);
      }
    }
  });

  it('when the splits are sized, then they are about 60/15/25 overall and within every language x status stratum (English training supplement aside)', function () {
    const target: Record<Split, number> = { train: 0.6, dev: 0.15, test: 0.25 };
    for (const split of SPLITS) {
      expect(share(designed[split].length, allDesigned.length), `${split} overall`).to.be.closeTo(target[split], 0.03);
    }
    for (const lang of LANGS) {
      for (const status of STATUSES) {
        const stratum = (list: Entry[]): number => countWhere(list, (e) => e.lang === lang && e.status === status);
        const total = stratum(allDesigned);
        for (const split of SPLITS) {
          // Within 3 percentage points: entries added after the freeze go to train/dev only (README, "Split procedure").
          expect(share(stratum(designed[split]), total), `${split} ${lang} ${status}`).to.be.closeTo(target[split], 0.03);
        }
      }
    }
  });

  it('when the English training supplement is read, then all of it is in train, every id of its range is used, and its statuses are balanced', function () {
    const supplement = all.filter(inEnglishSupplement);
    expect(supplement.length).to.equal(ENGLISH_SUPPLEMENT.to - ENGLISH_SUPPLEMENT.from + 1);
    expect(supplement.every((e) => entries.train.includes(e)), 'supplement entries are in train.jsonl').to.equal(true);
    for (const status of STATUSES) {
      const s = share(countWhere(supplement, (e) => e.status === status), supplement.length);
      expect(s, `supplement ${status}`).to.be.within(0.28, 0.4);
    }
  });

  it('when distortions are counted, then every category is well represented overall and in the test split', function () {
    for (const category of CATEGORIES) {
      expect(countWhere(all, (e) => hasCategory(e, category)), `${category} overall`).to.be.at.least(35);
      expect(countWhere(entries.test, (e) => hasCategory(e, category)), `${category} in test`).to.be.at.least(12);
    }
    expect(share(countWhere(all, (e) => e.distortions.length === 0), all.length), 'entries without distortion').to.be.at.least(0.45);
    expect(countWhere(all, (e) => e.distortions.length >= 2), 'entries with two or more').to.be.at.least(60);
    expect(countWhere(all, (e) => e.status === 'POSITIVE' && e.distortions.length > 0), 'POSITIVE with distortion').to.be.at.least(40);
  });

  it('when tags and dominant emotions are counted, then each tag appears at least 40 times (long 50) and each emotion 40 times', function () {
    for (const tag of TAGS) {
      expect(countWhere(all, (e) => e.tags.includes(tag)), tag).to.be.at.least(tag === 'long' ? 50 : 40);
    }
    for (const emotion of EMOTIONS) {
      expect(countWhere(all, (e) => e.dominant_emotion === emotion), emotion).to.be.at.least(40);
    }
  });

  it('when test.jsonl is hashed, then it matches the frozen checksum', function () {
    const digest = createHash('sha256').update(readFileSync(path.join(CORPUS_DIR, 'test.jsonl'))).digest('hex');
    expect(digest, 'test split changed: see "Changes to the frozen test split" in the corpus README').to.equal(TEST_SPLIT_SHA256);
  });
});
