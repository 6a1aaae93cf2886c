import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import mongoose from 'mongoose';
import { BackupError, type DataDigest, type IndexSpec } from './manifest.js';

type Db = mongoose.mongo.Db;
type Document = mongoose.mongo.Document;
const { EJSON } = mongoose.mongo.BSON;

/**
 * MongoDB collections as newline-delimited canonical EJSON, one file per collection, in _id order.
 * Canonical EJSON keeps every BSON type (int32 vs double, dates, ObjectIds), so a document restored
 * from its line is byte-for-byte the one that was dumped, and the digest of the lines proves it.
 * Works on MongoDB and FerretDB alike; there is no cross-collection snapshot (neither needs one
 * here: every write the app makes is an idempotent upsert keyed by a unique index).
 */
const INSERT_BATCH = 1_000;

function line(doc: Document): string {
  return `${EJSON.stringify(doc, { relaxed: false })}\n`;
}

/** Application collections (not system.*), sorted by name. */
export async function listCollections(db: Db): Promise<string[]> {
  const infos = await db.listCollections({}, { nameOnly: true }).toArray();
  return infos
    .filter((c) => (c.type ?? 'collection') === 'collection' && !c.name.startsWith('system.'))
    .map((c) => c.name)
    .sort();
}

export async function listIndexes(db: Db, collection: string): Promise<IndexSpec[]> {
  const indexes = (await db.collection(collection).indexes()) as Array<Record<string, unknown>>;
  return indexes
    .filter((index) => index.name !== '_id_')
    .map(({ v: _v, ns: _ns, ...spec }) => spec as IndexSpec)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Writes a collection to `file` and returns its digest. */
export async function exportCollection(db: Db, collection: string, file: string): Promise<DataDigest> {
  const hash = createHash('sha256');
  let rows = 0;
  const cursor = db.collection(collection).find({}, { sort: { _id: 1 } });
  async function* lines() {
    for await (const doc of cursor) {
      const text = line(doc);
      hash.update(text);
      rows += 1;
      yield text;
    }
  }
  await pipeline(Readable.from(lines()), createWriteStream(file, { mode: 0o600 }));
  return { rows, sha256: hash.digest('hex') };
}

/** The digest a collection would have in a backup taken now. */
export async function digestCollection(db: Db, collection: string): Promise<DataDigest> {
  const hash = createHash('sha256');
  let rows = 0;
  for await (const doc of db.collection(collection).find({}, { sort: { _id: 1 } })) {
    hash.update(line(doc));
    rows += 1;
  }
  return { rows, sha256: hash.digest('hex') };
}

/** Recreates a collection from its file: fresh collection, documents in batches, then its indexes. */
export async function importCollection(db: Db, collection: string, file: string, indexes: IndexSpec[]): Promise<void> {
  if ((await listCollections(db)).includes(collection)) await db.collection(collection).drop();
  await db.createCollection(collection);
  const target = db.collection(collection);
  let batch: Document[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await target.insertMany(batch, { ordered: true });
    batch = [];
  };
  let lineNo = 0;
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    lineNo += 1;
    if (!text) continue;
    try {
      batch.push(EJSON.parse(text, { relaxed: false }) as Document);
    } catch (err) {
      throw new BackupError(`${collection}: line ${lineNo} is not valid EJSON`, { cause: err });
    }
    if (batch.length >= INSERT_BATCH) await flush();
  }
  await flush();
  if (indexes.length > 0) {
    await target.createIndexes(indexes.map(({ key, ...options }) => ({ key: key as Record<string, 1 | -1>, ...options })));
  }
}

/** Collections that hold at least one document. */
export async function nonEmptyCollections(db: Db): Promise<string[]> {
  const out: string[] = [];
  for (const name of await listCollections(db)) if ((await db.collection(name).findOne({}, { projection: { _id: 1 } })) !== null) out.push(name);
  return out;
}

/** Drops every application collection (restore --force). */
export async function dropAllCollections(db: Db): Promise<void> {
  for (const name of await listCollections(db)) await db.collection(name).drop();
}
