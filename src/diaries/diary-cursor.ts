import { ValidationError } from '../../kernel/errors.js';

/**
 * Keyset cursor over (created_at DESC, id DESC). Entries written while a client pages are newer
 * than every cursor it holds, so pages never shift, repeat or skip.
 */
export interface DiaryCursor {
  createdAt: Date;
  id: string;
}

/**
 * `<createdAt in ms>_<id>`: every value of this shape is a position, so the document's pattern says
 * exactly which cursors are valid. Not opaque, and need not be: the list is of the caller's own
 * entries whatever the cursor says.
 */
export const DIARY_CURSOR_PATTERN = /^\d{1,15}_\d{1,20}$/;

export function encodeCursor(cursor: DiaryCursor): string {
  return `${cursor.createdAt.getTime()}_${cursor.id}`;
}

export function decodeCursor(raw: string): DiaryCursor {
  const [millis, id] = raw.split('_');
  const createdAt = new Date(Number(millis));
  if (!DIARY_CURSOR_PATTERN.test(raw) || Number.isNaN(createdAt.getTime())) {
    throw new ValidationError('Invalid cursor', [{ path: 'query.cursor', message: 'is not a cursor returned by this API' }]);
  }
  return { createdAt, id: id! };
}
