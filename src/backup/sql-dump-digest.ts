import { createHash, type Hash } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { DataDigest } from './manifest.js';

const INSERT = /^INSERT INTO `((?:[^`]|``)+)` VALUES/;
const CREATE = /^CREATE TABLE `((?:[^`]|``)+)`/;

/**
 * Finds the `(...)` row tuples of one `VALUES (..),(..);` statement, fed line by line (mariadb-dump
 * puts them on one line or one per line, depending on its version). Values are literals: numbers,
 * NULL, 0x.. (hex blobs) and single-quoted strings with backslash escapes, so only quotes can hide
 * parentheses or the closing semicolon.
 */
export class RowTupleScanner {
  private depth = 0;
  private inString = false;
  private pending = '';
  /** True once the statement's closing `;` was seen. */
  ended = false;

  feed(line: string, from = 0): string[] {
    const tuples: string[] = [];
    let start = from;
    for (let i = from; i < line.length && !this.ended; i += 1) {
      const c = line[i];
      if (this.inString) {
        if (c === '\\') i += 1;
        else if (c === "'") this.inString = false;
      } else if (c === "'") {
        this.inString = true;
      } else if (c === '(') {
        if (this.depth === 0) start = i;
        this.depth += 1;
      } else if (c === ')') {
        this.depth -= 1;
        if (this.depth === 0) {
          tuples.push(this.pending + line.slice(start, i + 1));
          this.pending = '';
        }
      } else if (c === ';' && this.depth === 0) {
        this.ended = true;
      }
    }
    // A tuple that continues on the next line (a raw newline inside a value).
    if (this.depth > 0) this.pending += `${line.slice(this.pending ? 0 : start)}\n`;
    return tuples;
  }
}

/** The row tuples of a complete INSERT statement text (for tests and tools). */
export function rowTuples(statement: string): string[] {
  const scanner = new RowTupleScanner();
  const out: string[] = [];
  for (const line of statement.split('\n')) {
    out.push(...scanner.feed(line));
    if (scanner.ended) break;
  }
  return out;
}

/**
 * Per-table row counts and digests of a mariadb-dump output, computed from the row tuples of its
 * INSERT statements. The same mariadb-dump options render equal rows as equal text, so dumping the
 * restored database again and digesting that output proves the restore exact, row by row, whatever
 * the grouping of rows into statements. Tables that only appear in CREATE TABLE count 0 rows.
 */
export async function digestSqlDump(input: Readable): Promise<Record<string, DataDigest>> {
  const tables = new Map<string, { rows: number; hash: Hash }>();
  const table = (name: string) => {
    let entry = tables.get(name);
    if (!entry) {
      entry = { rows: 0, hash: createHash('sha256') };
      tables.set(name, entry);
    }
    return entry;
  };
  let current: { entry: { rows: number; hash: Hash }; scanner: RowTupleScanner } | undefined;
  const take = (tuples: string[]) => {
    for (const tuple of tuples) {
      current!.entry.hash.update(tuple).update('\n');
      current!.entry.rows += 1;
    }
  };
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (current) {
      take(current.scanner.feed(line));
      if (current.scanner.ended) current = undefined;
      continue;
    }
    const create = CREATE.exec(line);
    if (create) table(unquote(create[1]!));
    const insert = INSERT.exec(line);
    if (!insert) continue;
    current = { entry: table(unquote(insert[1]!)), scanner: new RowTupleScanner() };
    take(current.scanner.feed(line, insert[0].length));
    if (current.scanner.ended) current = undefined;
  }
  return Object.fromEntries([...tables].sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => [name, { rows: e.rows, sha256: e.hash.digest('hex') }]));
}

function unquote(identifier: string): string {
  return identifier.replace(/``/g, '`');
}
