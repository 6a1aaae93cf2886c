import type { AutomaticThought, DistortionCategory, EmotionStatus } from '../analyzer.js';
import { data } from './data-files.js';

/** Alternative thoughts and prompts for change, from the templates in data/reframes.json. */

export type OutputLanguage = 'en' | 'ko';

const QUOTE_MAX_CHARS = 80;
const ENTRY_ALTERNATIVES_MAX = 3;

/** FNV-1a: a stable, dependency-free way to pick "a" template per sentence without randomness. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function pick(templates: string[], key: string): string {
  return templates[hash(key) % templates.length] ?? templates[0] ?? '';
}

function quote(sentence: string): string {
  const trimmed = sentence.replace(/\s+/g, ' ').replace(/[.!?…]+$/u, '').trim();
  return trimmed.length <= QUOTE_MAX_CHARS ? trimmed : `${trimmed.slice(0, QUOTE_MAX_CHARS - 1).trimEnd()}…`;
}

export function alternativeFor(category: DistortionCategory, sentence: string, language: OutputLanguage): string {
  return pick(data.reframes[language].alternatives[category], sentence).replace('{quote}', quote(sentence));
}

/**
 * Entry-level alternatives: those of the automatic thoughts (distinct categories, most intense
 * first); for a negative entry without any, one general, supportive reframe; otherwise none.
 */
export function entryAlternatives(
  thoughts: AutomaticThought[],
  status: EmotionStatus,
  language: OutputLanguage,
  key: string,
): string[] {
  if (thoughts.length === 0) {
    return status === 'NEGATIVE' ? [pick(data.reframes[language].general.NEGATIVE, key)] : [];
  }
  const seen = new Set<DistortionCategory>();
  const out: string[] = [];
  for (const t of [...thoughts].sort((a, b) => b.intensity - a.intensity)) {
    if (seen.has(t.distortion)) continue;
    seen.add(t.distortion);
    out.push(t.alternativeThought);
    if (out.length === ENTRY_ALTERNATIVES_MAX) break;
  }
  return out;
}

export function promptForChange(hasThoughts: boolean, status: EmotionStatus, language: OutputLanguage): string {
  const prompts = data.reframes[language].prompts;
  return hasThoughts ? prompts.distortion : prompts[status];
}
