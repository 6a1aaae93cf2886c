import { ValidationError } from '../../kernel/errors.js';

/**
 * Keyset cursor over (created_at DESC, id DESC). Entries written while a client pages are newer
 * than every cursor it holds, so pages never shift, repeat or skip.
 */
export interface DiaryCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(cursor: DiaryCursor): string {
  return Buffer.from(JSON.stringify({ c: cursor.createdAt.toISOString(), i: cursor.id })).toString('base64url');
}

export function decodeCursor(raw: string): DiaryCursor {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { c?: unknown; i?: unknown };
    const createdAt = new Date(String(parsed.c));
    if (typeof parsed.i !== 'string' || !/^\d{1,20}$/.test(parsed.i) || Number.isNaN(createdAt.getTime())) throw new Error('bad cursor');
    return { createdAt, id: parsed.i };
  } catch {
    throw new ValidationError('Invalid cursor', [{ path: 'query.cursor', message: 'is not a cursor returned by this API' }]);
  }
}
