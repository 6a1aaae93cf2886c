import { z } from 'zod';
import type { SettingDataType } from '../../models/sql/index.js';

export type SettingValue = string | number | boolean | null | Record<string, unknown> | unknown[];

/** Settings other code depends on get a stricter check than their data type alone. */
const KNOWN_CONSTRAINTS: Record<string, (value: SettingValue) => string | undefined> = {
  language: (v) => (v === 'en' || v === 'ko' ? undefined : 'must be "en" or "ko"'),
  timezone: (v) => (typeof v === 'string' && isTimeZone(v) ? undefined : 'must be an IANA time zone such as "Asia/Seoul"'),
  theme: (v) => (v === 'light' || v === 'dark' || v === 'system' ? undefined : 'must be "light", "dark" or "system"'),
};

const MAX_STRING = 1_000;
const MAX_JSON = 10_000;

/**
 * A time zone name for query and body fields. The document lists the canonical IANA names; the
 * API also takes what Intl resolves (aliases such as "US/Pacific", any letter case).
 */
export const timeZoneSchema = z
  .string()
  .max(64)
  .refine(isTimeZone, 'must be an IANA time zone')
  .meta({ enum: [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone')])] });

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Stored values are text; this turns one into the typed value its option declares. */
export function decodeSetting(dataType: SettingDataType, stored: string): SettingValue {
  switch (dataType) {
    case 'BOOLEAN':
      return stored === 'true';
    case 'NUMBER':
      return Number(stored);
    case 'JSON':
      return JSON.parse(stored) as SettingValue;
    default:
      return stored;
  }
}

/** Checks a value against its option's type (and known constraints); returns the text to store or an error. */
export function encodeSetting(key: string, dataType: SettingDataType, value: unknown): { ok: true; stored: string } | { ok: false; error: string } {
  let stored: string;
  switch (dataType) {
    case 'BOOLEAN':
      if (typeof value !== 'boolean') return { ok: false, error: 'must be a boolean' };
      stored = String(value);
      break;
    case 'NUMBER':
      if (typeof value !== 'number' || !Number.isFinite(value)) return { ok: false, error: 'must be a finite number' };
      stored = String(value);
      break;
    case 'JSON':
      if (value === undefined) return { ok: false, error: 'is required' };
      stored = JSON.stringify(value);
      if (stored.length > MAX_JSON) return { ok: false, error: `must serialise to at most ${MAX_JSON} characters` };
      break;
    default:
      if (typeof value !== 'string') return { ok: false, error: 'must be a string' };
      if (value.length > MAX_STRING) return { ok: false, error: `must be at most ${MAX_STRING} characters` };
      stored = value;
  }
  const constraintError = KNOWN_CONSTRAINTS[key]?.(decodeSetting(dataType, stored));
  return constraintError ? { ok: false, error: constraintError } : { ok: true, stored };
}
