/**
 * Keys whose values never reach a log line: credentials, tokens, one-time codes, and diary text.
 * Matching is on the key name (case-insensitive), at any depth.
 */
const SECRET_KEY = /^(password|new_?password|current_?password|passwordhash|password_hash|token|access_?token|refresh_?token|id_?token|secret|client_?secret|api_?key|authorization|cookie|set-cookie|x-api-key|code|code_?verifier|verification_?code|reset_?code|otp|content|title|alternative_?thought|text)$/i;

export const REDACTED = '[REDACTED]';

/** Deeper structures are cut off rather than logged unexamined. */
const MAX_DEPTH = 8;
export const TRUNCATED = '[TRUNCATED]';

export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return TRUNCATED;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  // Only plain objects are walked; Dates, Errors, Buffers and class instances pass through as they are.
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

/** Strips query-string values that carry secrets (OAuth code/state, tokens) from a URL for logging. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of [...params.keys()]) if (SECRET_KEY.test(key) || key === 'state') params.set(key, REDACTED);
  return `${url.slice(0, q)}?${params.toString()}`;
}
