import { z } from 'zod';

/**
 * Text fields of request bodies and queries, checked in an order the OpenAPI document can state
 * exactly: the length bounds the value as sent, a pattern requires a character that is not
 * whitespace, and only then is the surrounding whitespace dropped. (Trimming first would make
 * "   " pass `minLength: 1` in the document and fail here.)
 */
export function requiredText(max: number, message = 'must not be empty') {
  return z.string().max(max).regex(/\S/, message).trim();
}

/** Text that may be blank: at most `max` characters as sent, then trimmed. */
export function optionalText(max: number) {
  return z.string().max(max).trim();
}

/**
 * A point in time as a query or body field: an ISO 8601 date-time with its offset, or a date (UTC
 * midnight), in the years 1900-2999. The bound is what the stores can hold whatever the offset
 * (MariaDB DATETIME starts at year 1000) with room to spare, and the document states it as a pattern.
 */
const YEARS_1900_2999 = /^(?:19|2\d)\d{2}-/;
export const instantSchema = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .refine((s) => YEARS_1900_2999.test(s), 'must be in the years 1900-2999')
  .meta({ pattern: YEARS_1900_2999.source })
  .transform((s) => new Date(s));

/**
 * For rules across two instant fields: zod runs an object's refinements even when a field failed
 * (and then holds the raw string, not a Date), so such a rule first checks that both parsed.
 */
export function bothInstants(value: { from: unknown; to: unknown }): value is { from: Date; to: Date } {
  return value.from instanceof Date && value.to instanceof Date;
}

/**
 * An integer query parameter: decimal digits only (no "", " 3", "0x10" or "1e3", which a plain
 * `Number()` coercion would take), documented as `type: integer` with its bounds.
 */
export function queryInt(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.preprocess((value) => (typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value), z.number().int().min(min).max(max));
}
