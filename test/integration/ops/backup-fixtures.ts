import * as mariadb from 'mariadb';
import mongoose from 'mongoose';
import type { AppConfig } from '../../../config/index.js';
import { defineMongoModels } from '../../../models/mongo/index.js';
import { defineSqlModels } from '../../../models/sql/index.js';
import { createSequelize } from '../../../kernel/clients/mariadb.js';

/** Text that tests the dump's quoting: quotes, parentheses, backslashes, newlines, Korean, emoji. */
const TRICKY = [
  "It's (not) fine; \"really\" \\ back\\slash",
  'line one\nline two\r\nline three\ttab',
  '오늘은 정말 힘든 하루였다 (그래도 괜찮아)',
  'emoji 😀🙃 and a NUL-free blob of text ),(\'),(',
];

/**
 * Users and diaries written through SQL, analyses and notifications through the mongoose models:
 * the data a restore drill must bring back exactly.
 */
export async function seedDrillData(config: AppConfig, users = 5, diariesPerUser = 4): Promise<void> {
  const sequelize = createSequelize(config);
  const sql = defineSqlModels(sequelize);
  const mongo = await mongoose.createConnection(config.mongo.url, { serverSelectionTimeoutMS: 5_000 }).asPromise();
  const models = defineMongoModels(mongo);
  try {
    for (let u = 0; u < users; u += 1) {
      const user = await sql.User.create({
        email: `drill${u}@example.test`,
        username: `drill_${u}`,
        passwordHash: u % 2 === 0 ? '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' : null,
        nickname: TRICKY[u % TRICKY.length]!.slice(0, 40),
        role: u === 0 ? 'ADMIN' : 'USER',
        status: 'ACTIVE',
      });
      const userId = String(user.id);
      for (let d = 0; d < diariesPerUser; d += 1) {
        const diary = await sql.Diary.create({ userId, title: `Entry ${d} (${TRICKY[d % TRICKY.length]!.slice(0, 20)})`, content: TRICKY[(u + d) % TRICKY.length]!.repeat(d + 1) });
        const diaryId = String(diary.id);
        await models.DiaryAnalysis.create({
          diaryId,
          userId,
          revision: 1,
          analyzer: 'offline',
          analyzerVersion: '1.0.0',
          language: d % 2 === 0 ? 'en' : 'ko',
          emotions: [
            { name: 'sadness', score: 0.61 + d / 100 },
            { name: 'joy', score: 0.25 },
          ],
          emotionStatus: d % 3 === 0 ? 'NEGATIVE' : 'NEUTRAL',
          automaticThoughts: [{ text: 'I always fail', distortion: 'overgeneralisation', intensity: 0.8, alternativeThought: 'Sometimes things go wrong, not always' }],
          alternativeThoughts: ['One bad day is not a bad life'],
          promptForChange: TRICKY[d % TRICKY.length]!,
          requestedAt: new Date(Date.UTC(2025, 0, 1, 12, d)),
          analyzedAt: new Date(Date.UTC(2025, 0, 1, 12, d, 30, 123)),
        });
        await models.Notification.create({
          _id: `${userId}:${d + 1}`,
          userId,
          seq: d + 1,
          diaryId,
          acked: d === 0,
          eventId: `evt-${userId}-${d}`,
          type: 'analysis.completed',
          payload: { diaryId, revision: 1, status: 'COMPLETED', nested: { scores: [1, 2.5, -3], ok: true, at: new Date(Date.UTC(2025, 0, 2)) } },
          createdAt: new Date(Date.UTC(2025, 0, 1, 13, d)),
          ackedAt: d === 0 ? new Date(Date.UTC(2025, 0, 1, 14)) : null,
        });
      }
    }
  } finally {
    await sequelize.close();
    await mongo.close();
  }
}

export interface StoreSnapshot {
  tables: Record<string, string>;
  collections: Record<string, unknown[]>;
}

const jsonSafe = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

/**
 * Everything in the namespace's stores, read independently of the backup code: every row of every
 * table (as JSON, in primary-key order) and every document of every collection (in _id order).
 */
export async function snapshotStores(config: AppConfig): Promise<StoreSnapshot> {
  const u = new URL(config.mariadb.url);
  const database = u.pathname.slice(1);
  const conn = await mariadb.createConnection({ host: u.hostname, port: Number(u.port), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database });
  const tables: Record<string, string> = {};
  try {
    const names = (await conn.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name', [database])) as Array<{ name: string }>;
    for (const { name } of names) {
      const rows = (await conn.query(`SELECT * FROM \`${name}\` ORDER BY 1`)) as unknown[];
      tables[name] = JSON.stringify(rows, jsonSafe);
    }
  } finally {
    await conn.end();
  }
  const mongo = await mongoose.createConnection(config.mongo.url, { serverSelectionTimeoutMS: 5_000 }).asPromise();
  const collections: Record<string, unknown[]> = {};
  try {
    const infos = await mongo.db!.listCollections({}, { nameOnly: true }).toArray();
    for (const { name } of infos.sort((a, b) => a.name.localeCompare(b.name))) {
      const docs = await mongo.db!.collection(name).find({}, { sort: { _id: 1 } }).toArray();
      // Empty collections (created by migrate) are not data.
      if (docs.length > 0) collections[name] = docs;
    }
  } finally {
    await mongo.close();
  }
  return { tables, collections };
}
