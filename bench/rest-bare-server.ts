/**
 * The baseline of bench/rest-diaries.ts: the least Koa + @koa/router + the mariadb driver can do
 * for the two requests that bench measures, with none of the app's guarantees beyond the data
 * itself. Run as a child process:
 *   PORT=... MARIADB_URL=... JWT_SECRET=... JWT_ISSUER=... JWT_AUDIENCE=... JWT_ALGORITHM=HS256 \
 *   POOL_MAX=10 TOPIC=... node --import tsx bench/rest-bare-server.ts
 *
 * Both routes verify the bearer token with jsonwebtoken (same key, algorithm, iss and aud as the
 * app; no revocation lookup, no claim checks beyond the library's).
 * - `POST /api/v1/diaries`: JSON body, then one transaction on a pool of `POOL_MAX` connections
 *   (the app's `mariadb.poolMax`): START TRANSACTION, INSERT the diary, INSERT its outbox row
 *   (the same analysis-request payload the app writes), COMMIT; answers 201 with the entry.
 * - `GET /api/v1/diaries?limit=20`: the app's list query (same columns, excerpt in SQL, the
 *   (user_id, created_at, id) index, ORDER BY created_at DESC, id DESC), answers 200 with the rows.
 * No validation beyond what the SQL needs, no rate limits, no settings, no logging, no metrics,
 * no security headers, no error mapping (a failure is Koa's default 500).
 */
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import jwt, { type Algorithm } from 'jsonwebtoken';
import Koa from 'koa';
import * as mariadb from 'mariadb';
import { createSecretKey, randomUUID } from 'node:crypto';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) {
    console.error(`rest-bare-server: ${name} is required`);
    process.exit(2);
  }
  return value;
};

const port = Number(env('PORT'));
const dbUrl = new URL(env('MARIADB_URL'));
const key = createSecretKey(Buffer.from(env('JWT_SECRET'), 'utf8'));
const verifyOptions = { algorithms: [env('JWT_ALGORITHM') as Algorithm], issuer: env('JWT_ISSUER'), audience: env('JWT_AUDIENCE') };
const topic = env('TOPIC');

// The driver options Sequelize gives the app's pool (kernel/clients/mariadb.ts); the two BigInt
// options are legacy ones the driver still honours but no longer declares.
const pool = mariadb.createPool({
  host: dbUrl.hostname,
  port: Number(dbUrl.port || 3306),
  user: decodeURIComponent(dbUrl.username),
  password: decodeURIComponent(dbUrl.password),
  database: decodeURIComponent(dbUrl.pathname.slice(1)),
  connectionLimit: Number(env('POOL_MAX')),
  timezone: '+00:00',
  ...({ supportBigNumbers: true, bigNumberStrings: true } as mariadb.PoolConfig),
});

const userOf = (ctx: Koa.Context): string => {
  const token = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
  if (!token) ctx.throw(401);
  try {
    return String((jwt.verify(token, key, verifyOptions) as { sub: string }).sub);
  } catch {
    return ctx.throw(401);
  }
};

const router = new Router({ prefix: '/api/v1' });

router.post('/diaries', async (ctx) => {
  const userId = userOf(ctx);
  const { title = null, content } = ctx.request.body as { title?: string | null; content: string };
  const conn = await pool.getConnection();
  try {
    await conn.query('START TRANSACTION');
    const inserted = (await conn.query('INSERT INTO diaries (user_id, title, content) VALUES (?, ?, ?)', [userId, title, content])) as { insertId: bigint | number };
    const id = String(inserted.insertId);
    const eventId = randomUUID();
    const occurredAt = new Date().toISOString();
    const payload = { eventId, occurredAt, diaryId: id, userId, revision: 1, type: 'analysis.requested', title, content, language: 'en' };
    await conn.query('INSERT INTO outbox_events (event_id, topic, message_key, payload, headers) VALUES (?, ?, ?, ?, ?)', [
      eventId,
      topic,
      id,
      JSON.stringify(payload),
      JSON.stringify({ requestId: randomUUID() }),
    ]);
    await conn.query('COMMIT');
    ctx.status = 201;
    ctx.body = { id, title, content, revision: 1, analysisStatus: 'PENDING', createdAt: occurredAt, updatedAt: occurredAt, analysis: null };
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await conn.release();
  }
});

router.get('/diaries', async (ctx) => {
  const userId = userOf(ctx);
  const limit = Math.min(100, Number(ctx.query.limit ?? 20));
  const items = (await pool.query(
    `SELECT id, title, revision, analysis_status AS analysisStatus, analyzed_revision AS analyzedRevision, emotion_status AS emotionStatus,
       is_negative AS isNegative, alternative_thought AS alternativeThought, created_at AS createdAt, updated_at AS updatedAt, LEFT(content, 200) AS excerpt
     FROM diaries WHERE user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
    [userId, limit],
  )) as unknown[];
  ctx.body = { items, nextCursor: null };
});

router.get('/healthz', (ctx) => {
  ctx.body = { ok: true };
});

const app = new Koa();
app.use(bodyParser({ enableTypes: ['json'] }));
app.use(router.routes()).use(router.allowedMethods());
const server = app.listen(port, '127.0.0.1');

const stop = () => {
  server.close();
  void pool.end().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
