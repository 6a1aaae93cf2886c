import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Format of the archive's manifest.json; bumped on any incompatible change. */
export const MANIFEST_FORMAT = 1;

/** Row count and content digest of one table or collection. */
export interface DataDigest {
  rows: number;
  sha256: string;
}

export interface FileDigest {
  bytes: number;
  sha256: string;
}

/** Index of a collection as listIndexes returns it (without `v`/`ns`), recreated on restore. */
export interface IndexSpec {
  name: string;
  key: Record<string, unknown>;
  [option: string]: unknown;
}

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  createdAt: string;
  app: string;
  profile: string;
  /** Every file of the archive except the manifest, by archive path. */
  files: Record<string, FileDigest>;
  mariadb: {
    database: string;
    file: string;
    /** Per table: rows and the digest of their dumped values, in primary-key order. */
    tables: Record<string, DataDigest>;
  };
  mongo: {
    database: string;
    /** Per collection: documents and the digest of their canonical EJSON lines, in _id order. */
    collections: Record<string, DataDigest & { file: string; indexes: IndexSpec[] }>;
  };
}

/** An operational failure of backup or restore with a message fit for the operator; never a bug. */
export class BackupError extends Error {
  override name = 'BackupError';
}

export async function digestFile(file: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Names whose digests differ between what the manifest promises and what is there. */
export function compareDigests(expected: Record<string, DataDigest>, actual: Record<string, DataDigest>): string[] {
  const names = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  const problems: string[] = [];
  for (const name of [...names].sort()) {
    const want = expected[name];
    const got = actual[name];
    if (!want) problems.push(`${name}: not in the backup`);
    else if (!got) problems.push(`${name}: missing after restore`);
    else if (want.rows !== got.rows) problems.push(`${name}: ${got.rows} rows, expected ${want.rows}`);
    else if (want.sha256 !== got.sha256) problems.push(`${name}: checksum differs`);
  }
  return problems;
}
