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
