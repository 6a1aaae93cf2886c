import type { AuthEvents } from '../src/auth/auth-events.js';
import type { DiaryEvents } from '../src/diaries/diary-events.js';
import type { AnalysisOutcomeEvents } from '../src/notifications/analysis-status-consumer.js';
import type { Logger } from '../kernel/logger.js';
import type { ActivityEvent, ActivitySnapshot, InstanceStats } from '../kernel/contracts/socket-events.js';
import type { SocketServer } from './socket-server.js';

export const ACTIVITY_ROOM = 'activity';

/**
 * The admin live activity room: logins, diary writes, analysis outcomes (from whichever instance
 * saw them, broadcast through the adapter), each instance's socket counts every few seconds, and
 * a cluster-wide snapshot on request that tolerates an instance that does not answer.
 */
export function createActivityFeed(deps: { server: SocketServer; instanceId: string; intervalMs: number; log: Logger }) {
  const { users, admin, clusterReachable } = deps.server;
  const { instanceId } = deps;
  let timer: NodeJS.Timeout | undefined;

  // Activity is published only while some admin watches the room somewhere: every create, login
  // and outcome would otherwise cost a Redis publish that every instance decodes for nobody.
  // Instances tell each other their watcher counts when theirs changes and every interval; a count
  // not heard again within three intervals is forgotten (its instance is gone).
  const watchers = new Map<string, { admins: number; atMs: number }>();
  const localWatchers = () => admin.adapter.rooms.get(ACTIVITY_ROOM)?.size ?? 0;
  const someoneWatches = () => {
    if (localWatchers() > 0) return true;
    const now = Date.now();
    for (const w of watchers.values()) if (w.admins > 0 && now - w.atMs < 3 * deps.intervalMs) return true;
    return false;
  };
  const announceWatchers = () => {
    if (!clusterReachable()) return;
    try {
      admin.serverSideEmit('activity:watchers', { instanceId, admins: localWatchers() });
    } catch (err) {
      deps.log.warn({ err }, 'activity watcher count not sent');
    }
  };
  admin.on('activity:watchers', (report) => {
    const known = watchers.has(report.instanceId);
    watchers.set(report.instanceId, { admins: report.admins, atMs: Date.now() });
    // A new instance announces itself at start: answer, so it learns who watches without waiting.
    if (!known) announceWatchers();
  });

  const publish = (event: Omit<ActivityEvent, 'at' | 'instanceId'>) => {
    if (!someoneWatches()) return;
    const message = { ...event, at: new Date().toISOString(), instanceId };
    try {
      // Without Redis only this instance's admins can be told; activity is live-only, not durable.
      if (clusterReachable()) admin.to(ACTIVITY_ROOM).emit('activity', message);
      else admin.local.to(ACTIVITY_ROOM).emit('activity', message);
    } catch (err) {
      deps.log.warn({ err }, 'activity event not published');
    }
  };

  function localStats(): InstanceStats {
    const people = new Set<string>();
    for (const socket of users.sockets.values()) people.add(socket.data.userId);
    return { instanceId, sockets: users.sockets.size, adminSockets: admin.sockets.size, users: people.size, at: new Date().toISOString() };
  }

  // Other instances ask for this instance's counts through the adapter.
  admin.on('instance:stats', (ack) => ack(localStats()));

  const events: Pick<AuthEvents, 'userLoggedIn'> & DiaryEvents & AnalysisOutcomeEvents = {
    userLoggedIn: (e) => publish({ type: 'user.login', userId: e.userId, detail: { method: e.method } }),
    diaryWritten: (e) => publish({ type: `diary.${e.kind}`, userId: e.userId, diaryId: e.diaryId, detail: { revision: e.revision } }),
    diaryDeleted: (e) => publish({ type: 'diary.deleted', userId: e.userId, diaryId: e.diaryId }),
    analysisFinished: (e) =>
      publish({
        type: e.status === 'COMPLETED' ? 'analysis.completed' : 'analysis.failed',
        userId: e.userId,
        diaryId: e.diaryId,
        detail: { revision: e.revision, emotionStatus: e.emotionStatus },
      }),
  };

  return {
    events,
    localStats,

    /** An admin socket of this instance joined or left the activity room. */
    watchersChanged: announceWatchers,

    /**
     * Counts from every instance that answers within the adapter's request timeout; `partial`
     * when one did not (an instance that died is no longer subscribed and is not waited for).
     */
    snapshot(): Promise<ActivitySnapshot> {
      if (!clusterReachable()) return Promise.resolve({ instances: [localStats()], totalSockets: localStats().sockets, partial: true });
      return new Promise((resolve) => {
        admin.serverSideEmit('instance:stats', (err: Error | null, responses: InstanceStats[] = []) => {
          const instances = [localStats(), ...responses].sort((a, b) => a.instanceId.localeCompare(b.instanceId));
          resolve({ instances, totalSockets: instances.reduce((n, s) => n + s.sockets, 0), partial: Boolean(err) });
        });
      });
    },

    /** Admins see an announcement's ack count (all instances' counters summed). */
    ackCountChanged(announcementId: string, acks: number): void {
      (clusterReachable() ? admin : admin.local).to(ACTIVITY_ROOM).emit('announcement:acks', { announcementId, acks });
    },

    start() {
      announceWatchers();
      timer = setInterval(() => {
        announceWatchers();
        publish({ type: 'instance.sockets', detail: { ...localStats() } });
      }, deps.intervalMs);
      timer.unref();
    },

    stop() {
      clearInterval(timer);
    },
  };
}

export type ActivityFeed = ReturnType<typeof createActivityFeed>;
