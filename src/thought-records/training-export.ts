import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { QueryTypes, type Sequelize } from 'sequelize';
import { TRAINING_CONSENT_KEY } from '../../models/migrations/009-thought-records.js';
import { fromRow, type ThoughtRecord } from './thought-record-repository.js';
import { sha256 } from './thought-record-service.js';

export const TRAINING_EXPORT_SCHEMA = 'emotion-diary.thought-record-correction/v1';

/**
 * One line of the export: an entry's text, what the analyzer guessed, what the person made of it.
 * `subject` and `id` are keyed hashes under a salt drawn for this export alone: stable within the
 * file (split train/test by subject so one person's entries do not leak across), unlinkable to
 * accounts and across exports.
 */
export interface TrainingExample {
  schema: typeof TRAINING_EXPORT_SCHEMA;
  id: string;
  subject: string;
  language: string;
  title: string | null;
  text: string;
  analyzer: { name: string; version: string; model: string | null; analysisRevision: number };
  /** The analyzer's automatic thoughts the person decided on; `gold` is null when they rejected it. */
  thoughts: Array<{
    sentence: string;
    predicted: { distortion: string; intensity: number; alternativeThought: string };
    decision: 'accepted' | 'edited' | 'rejected';
    gold: { text: string; distortion: string } | null;
  }>;
  /** Thoughts the analyzer missed, in the person's words (distortion null when they named none). */
  missed: Array<{ text: string; distortion: string | null }>;
  /**
   * The person's confirmed distortions in the diary corpus's shape (test/fixtures/diary-corpus:
   * `{ category, sentence }`, `sentence` a verbatim part of `text`), so a line can join the
   * corpus-based training as it is: accepted and edited thoughts under the person's category (an
   * edit's rewording is not in the text, so the sentence is the analyzer's), and own thoughts
   * that quote the entry. Rejected guesses are absent: for the trainer, negatives.
   */
  distortions: Array<{ category: string; sentence: string }>;
  emotionsBefore: Array<{ name: string; rating: number }>;
  emotionsAfter: Array<{ name: string; rating: number }>;
  evidenceFor: string;
  evidenceAgainst: string;
  balancedThought: string;
  savedAt: string;
}

export interface TrainingExportResult {
  exported: number;
  subjects: number;
  /** Consenting users' records left out: the entry was edited since (its text is not the one corrected), or nothing was decided. */
  skipped: { entryChanged: number; nothingDecided: number };
}

const PAGE = 200;

/** A record as the export reads it: the record, its entry's text, and nothing of anyone who has not opted in. */
type ExportRow = Parameters<typeof fromRow>[0] & { title: string | null; content: string };

export function toTrainingExample(record: ThoughtRecord, entry: { title: string | null; content: string }, key: (what: string) => string): TrainingExample {
  const confirmed = new Map<string, { category: string; sentence: string }>();
  const confirm = (category: string, sentence: string) => void confirmed.set(`${category}\u0000${sentence}`, { category, sentence });
  for (const t of record.thoughts) {
    if (t.decision === 'accepted' || t.decision === 'edited') confirm(t.distortion ?? t.original.distortion, t.original.text);
  }
  for (const own of record.ownThoughts) if (own.distortion && entry.content.includes(own.text)) confirm(own.distortion, own.text);
  return {
    schema: TRAINING_EXPORT_SCHEMA,
    id: key(`record:${record.diaryId}`),
    subject: key(`user:${record.userId}`),
    language: record.language,
    title: entry.title,
    text: entry.content,
    analyzer: { name: record.analyzer, version: record.analyzerVersion, model: record.analyzerModel, analysisRevision: record.analysisRevision },
    thoughts: record.thoughts.flatMap((t) =>
      t.decision === null
        ? []
        : [
            {
              sentence: t.original.text,
              predicted: { distortion: t.original.distortion, intensity: t.original.intensity, alternativeThought: t.original.alternativeThought },
              decision: t.decision,
              gold: t.decision === 'rejected' ? null : { text: t.text ?? t.original.text, distortion: t.distortion ?? t.original.distortion },
            },
          ],
    ),
    missed: record.ownThoughts.map((o) => ({ text: o.text, distortion: o.distortion })),
    distortions: [...confirmed.values()],
    emotionsBefore: record.emotionsBefore,
    emotionsAfter: record.emotionsAfter,
    evidenceFor: record.evidenceFor,
    evidenceAgainst: record.evidenceAgainst,
    balancedThought: record.balancedThought,
    savedAt: record.updatedAt.toISOString(),
  };
}

/**
 * Writes the corrections of the users who opted in (`training.shareCorrections` set to true by
 * the user themselves: the option's default never counts as consent) as JSON Lines, one
 * {@link TrainingExample} per record. Consent is read in the same query as the records, page by
 * page, so a user who withdraws is absent from every export that starts afterwards.
 */
export async function exportTrainingCorrections(sequelize: Sequelize, out: Writable): Promise<TrainingExportResult> {
  const salt = randomBytes(32);
  const key = (what: string) => createHmac('sha256', salt).update(what).digest('hex').slice(0, 32);
  const subjects = new Set<string>();
  const result: TrainingExportResult = { exported: 0, subjects: 0, skipped: { entryChanged: 0, nothingDecided: 0 } };
  let after = '0';
  for (;;) {
    const rows = await sequelize.query<ExportRow>(
      `SELECT tr.*, d.title, d.content FROM thought_records tr
         JOIN diaries d ON d.id = tr.diary_id AND d.user_id = tr.user_id
         JOIN user_custom_settings ucs ON ucs.user_id = tr.user_id AND ucs.value = 'true'
         JOIN settings_options so ON so.id = ucs.option_id AND so.\`key\` = :consentKey
       WHERE tr.diary_id > :after ORDER BY tr.diary_id LIMIT :limit`,
      { replacements: { consentKey: TRAINING_CONSENT_KEY, after, limit: PAGE }, type: QueryTypes.SELECT },
    );
    for (const row of rows) {
      const record = fromRow(row);
      if (sha256(row.content) !== record.contentSha256) {
        result.skipped.entryChanged++;
        continue;
      }
      const example = toTrainingExample(record, row, key);
      if (example.thoughts.length === 0 && example.missed.length === 0) {
        result.skipped.nothingDecided++;
        continue;
      }
      subjects.add(example.subject);
      result.exported++;
      if (!out.write(`${JSON.stringify(example)}\n`)) await once(out, 'drain');
    }
    if (rows.length < PAGE) break;
    after = String(rows.at(-1)!.diary_id);
  }
  result.subjects = subjects.size;
  return result;
}
