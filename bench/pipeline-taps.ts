/**
 * What bench/pipeline-latency.ts watches along the pipeline, without touching the app: a Kafka
 * consumer of its own on the request and status topics (the producers' CreateTime of each
 * message), and one socket.io client per user that acks `analysis:status` as a real device does
 * (and notes when each diary's statuses arrived). Times are Date.now() of this process; the
 * Kafka timestamps are Date.now() of the producing process (kafkajs stamps CreateTime), the same
 * clock on one machine.
 */
import { Kafka, logLevel } from 'kafkajs';
import { io, type Socket } from 'socket.io-client';
import type { TopicNames } from '../kernel/contracts/analysis-events.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../kernel/contracts/socket-events.js';
import { onCleanup, withTimeout } from './bench-support.js';

/** One diary as the Kafka tap saw it; times are the messages' CreateTime (ms). */
export interface KafkaSeen {
  /** The first copy of the analysis request (stamped by the API's outbox relay when it produced it). */
  requestedAt?: number;
  /** Copies of the request beyond the first: the outbox is at-least-once. */
  requestCopies: number;
  /** The worker's first PROCESSING and COMPLETED status events. */
  processingAt?: number;
  completedAt?: number;
  failed?: string;
}

/**
 * Subscribes a fresh consumer group to both topics (from the latest offsets, as the brief wants:
 * only what this run produces) and resolves once it has joined and finished a first fetch, so
 * that the latest offsets are resolved and nothing produced afterwards is missed.
 */
export async function tapPipeline(brokers: string[], topics: TopicNames, groupId: string): Promise<Map<string, KafkaSeen>> {
  const seen = new Map<string, KafkaSeen>();
  const entry = (diaryId: string) => {
    let e = seen.get(diaryId);
    if (!e) seen.set(diaryId, (e = { requestCopies: -1 }));
    return e;
  };
  const kafka = new Kafka({ clientId: 'bench-pipeline-tap', brokers, logLevel: logLevel.NOTHING, retry: { retries: 10, maxRetryTime: 2_000 } });
  // The times come from the producers, not from this consumer, so it may poll as lazily as the
  // app's own consumers do (1 s when idle): a tighter long-poll only adds broker work to the run.
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 1_000 });
  await consumer.connect();
  onCleanup('pipeline tap consumer', () => consumer.disconnect());
  await consumer.subscribe({ topics: [topics.analysisRequested, topics.analysisStatus], fromBeginning: false });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  const fetched = new Promise<void>((resolve) => consumer.on(consumer.events.FETCH, () => resolve()));
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        const at = Number(message.timestamp);
        if (batch.topic === topics.analysisRequested) {
          // Requests are keyed by diaryId; their value (the diary text) need not be parsed.
          const e = entry(message.key?.toString('utf8') ?? '');
          e.requestCopies++;
          e.requestedAt = Math.min(e.requestedAt ?? at, at);
          continue;
        }
        // Statuses are keyed by user: the diary is in the value.
        const event = JSON.parse(message.value?.toString('utf8') ?? '{}') as { diaryId?: string; status?: string; error?: string };
        const e = entry(event.diaryId ?? '');
        if (event.status === 'PROCESSING') e.processingAt = Math.min(e.processingAt ?? at, at);
        else if (event.status === 'COMPLETED') e.completedAt = Math.min(e.completedAt ?? at, at);
        else if (event.status === 'FAILED') e.failed = event.error ?? 'FAILED';
      }
    },
  });
  await withTimeout(
    Promise.all([joined, fetched]).then(() => undefined),
    60_000,
    'pipeline tap joining its group',
  );
  return seen;
}

/** One diary as the user's sockets saw it (Date.now() on receipt of the first copy). */
export interface SocketSeen {
  processingSeenAt?: number;
  completedSeenAt?: number;
  /**
   * The COMPLETED notification's createdAt: the gateway stamps it after the diary row is updated
   * and the user's next sequence number reserved, just before the insert (ms resolution).
   */
  completedStoredAt?: number;
  /** The user whose socket got the COMPLETED: must be the diary's writer. */
  completedUserId?: string;
  failed?: boolean;
}

export interface UserSockets {
  seen: Map<string, SocketSeen>;
  /** Copies of a notification after the first (redeliveries), which a client dedupes by id. */
  duplicates(): number;
  /** Disconnects this bench did not ask for, by reason. */
  disconnects(): Record<string, number>;
  close(): void;
}

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * One websocket per user (token), connected `concurrency` at a time. Each client acks every
 * `analysis:status` at once and dedupes by notification id, as scripts/watch-analysis.ts does.
 * Throws if any socket fails to connect.
 */
export async function connectUsers(url: string, users: Array<{ userId: string; token: string }>, concurrency: number, timeoutMs: number): Promise<UserSockets> {
  const sockets: ClientSocket[] = [];
  const seen = new Map<string, SocketSeen>();
  const disconnects: Record<string, number> = {};
  let duplicates = 0;
  let closing = false;
  onCleanup('user sockets', async () => {
    closing = true;
    for (const socket of sockets.splice(0)) socket.disconnect();
  });

  const open = (user: { userId: string; token: string }) =>
    new Promise<void>((resolve, reject) => {
      const socket: ClientSocket = io(url, { transports: ['websocket'], auth: { token: user.token }, reconnection: false, forceNew: true, timeout: timeoutMs });
      const ids = new Set<string>();
      socket.on('analysis:status', (n, ack) => {
        const at = Date.now();
        ack({ ok: true });
        if (ids.has(n.id)) {
          duplicates++;
          return;
        }
        ids.add(n.id);
        let e = seen.get(n.payload.diaryId);
        if (!e) seen.set(n.payload.diaryId, (e = {}));
        if (n.payload.status === 'PROCESSING') e.processingSeenAt ??= at;
        else if (n.payload.status === 'COMPLETED' && e.completedSeenAt === undefined) {
          e.completedSeenAt = at;
          e.completedStoredAt = Date.parse(n.createdAt);
          e.completedUserId = user.userId;
        } else if (n.payload.status === 'FAILED') e.failed = true;
      });
      socket.on('notification', (_n, ack) => ack({ ok: true }));
      socket.on('announcement', (_a, ack) => ack({ ok: true }));
      socket.once('connect', () => {
        sockets.push(socket);
        socket.on('disconnect', (reason) => {
          if (!closing) disconnects[reason] = (disconnects[reason] ?? 0) + 1;
        });
        resolve();
      });
      socket.once('connect_error', (err) => {
        socket.close();
        reject(new Error(`socket of user ${user.userId}: ${err.message}`));
      });
    });

  let next = 0;
  const connector = async () => {
    while (next < users.length) await open(users[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, users.length)) }, connector));
  return {
    seen,
    duplicates: () => duplicates,
    disconnects: () => ({ ...disconnects }),
    close() {
      closing = true;
      for (const socket of sockets.splice(0)) socket.disconnect();
    },
  };
}
