import { ValidationError } from '../kernel/errors.js';
import type { Logger } from '../kernel/logger.js';
import { diaryRefSchema, type AnalysisStatusEnvelope, type DiaryStatus } from '../kernel/contracts/socket-events.js';
import type { DiaryService, DiaryWithAnalysis } from '../src/diaries/diary-service.js';
import type { createSocketGuard } from './socket-guard.js';
import type { UserSocket } from './socket-server.js';

/** Entries one socket may follow at a time (a detail view follows one; a few tabs' worth is plenty). */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 20;

const toStatus = (d: DiaryWithAnalysis): DiaryStatus => ({
  diaryId: d.id,
  revision: d.revision,
  analysisStatus: d.analysisStatus,
  analyzedRevision: d.analyzedRevision,
  emotionStatus: d.emotionStatus,
  alternativeThought: d.alternativeThought,
  updatedAt: new Date(d.updatedAt).toISOString(),
});

/**
 * The analysis commands of namespace `/`: a socket can read an entry's status, ask for a new
 * analysis and follow one entry's progress, over the connection it already has. Each goes through
 * the socket guard (event budget, payload schema, errors answered through the ack as
 * `{ error: { code, message } }`) and the same diary service as REST, so the owner check (another
 * user's entry is not_found), the reanalysis rules and the error codes are REST's.
 *
 * Progress is sent to a following socket by the instance the socket is on, when the durable
 * `analysis:status` is handed to it (`statusSent`, called by the notification delivery): no
 * extra broadcast, and nothing at all for sockets that follow nothing.
 */
export function createDiaryCommands(deps: { diaries: Pick<DiaryService, 'get' | 'reanalyze'>; log: Logger }) {
  const log = deps.log.child({ component: 'diary-commands' });
  /** Per socket: the entries it follows, with the last sequence sent as progress (redeliveries send it again). */
  const following = new WeakMap<UserSocket, Map<string, number>>();

  return {
    register(guard: ReturnType<typeof createSocketGuard<UserSocket>>): void {
      guard.on('diary:get', diaryRefSchema, async (socket, { diaryId }) => toStatus(await deps.diaries.get(socket.data.userId, diaryId)));
      guard.on('diary:reanalyze', diaryRefSchema, async (socket, { diaryId }) => toStatus(await deps.diaries.reanalyze(socket.data.userId, diaryId, `socket:${socket.id}`)));
      guard.on('diary:subscribe', diaryRefSchema, async (socket, { diaryId }) => {
        const status = toStatus(await deps.diaries.get(socket.data.userId, diaryId));
        let mine = following.get(socket);
        if (!mine) following.set(socket, (mine = new Map()));
        if (!mine.has(diaryId) && mine.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) throw new ValidationError(`at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} entries followed per connection`);
        if (!mine.has(diaryId)) mine.set(diaryId, 0);
        return status;
      });
      guard.on('diary:unsubscribe', diaryRefSchema, async (socket, { diaryId }) => {
        following.get(socket)?.delete(diaryId);
        return { ok: true as const };
      });
    },

    /** An `analysis:status` was handed to this socket: progress for it, if it follows that entry. */
    statusSent(socket: UserSocket, n: AnalysisStatusEnvelope): void {
      const mine = following.get(socket);
      const { diaryId } = n.payload;
      const sentUpTo = mine?.get(diaryId);
      if (sentUpTo === undefined || n.seq <= sentUpTo) return;
      mine!.set(diaryId, n.seq);
      if (n.payload.status !== 'COMPLETED') {
        socket.emit('diary:progress', n.payload);
        return;
      }
      deps.diaries.get(socket.data.userId, diaryId).then(
        (diary) => socket.connected && socket.emit('diary:progress', { ...n.payload, diary: toStatus(diary) }),
        (err: unknown) => {
          // Deleted meanwhile, or the store is away: the status itself still goes out.
          log.debug({ err, diaryId }, 'progress without the entry');
          if (socket.connected) socket.emit('diary:progress', n.payload);
        },
      );
    },
  };
}

export type DiaryCommands = ReturnType<typeof createDiaryCommands>;
