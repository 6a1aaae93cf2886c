import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ActivityEvent, ActivitySnapshot, AdminServerToClientEvents } from '../../../kernel/contracts/socket-events';
import { admin } from '../api/endpoints';
import type { AdminUser, Announcement } from '../api/types';
import { ErrorBox, Field, Screen, useAsync } from '../components';
import { formatDateTime, language, useT } from '../i18n';
import { connectAdmin, type AdminSocket } from '../realtime';
import { useStore } from '../store';

function useAdminSocket(): { socket: AdminSocket | null; connected: boolean } {
  const [socket, setSocket] = useState<AdminSocket | null>(null);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const { socket: s, close } = connectAdmin();
    s.on('connect', () => setConnected(true));
    s.on('disconnect', () => setConnected(false));
    setSocket(s);
    return close;
  }, []);
  return { socket, connected };
}

/** Listens to one event of the admin socket while the component is mounted. */
function useAdminEvent<E extends 'activity' | 'announcement:acks'>(socket: AdminSocket | null, event: E, listener: AdminServerToClientEvents[E]): void {
  useEffect(() => {
    if (!socket) return;
    socket.on(event, listener as never);
    return () => void socket.off(event, listener as never);
  }, [socket]);
}

function ActivityFeed({ socket }: { socket: AdminSocket | null }): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  const [events, setEvents] = useState<ActivityEvent[]>([]);
  useAdminEvent(socket, 'activity', (e) => setEvents((list) => [e, ...list].slice(0, 100)));
  return (
    <section class="card" aria-labelledby="activity-title">
      <h2 id="activity-title">{t('admin.activity')}</h2>
      {events.length === 0 && <p class="empty">{t('admin.noActivity')}</p>}
      <ol class="activity" aria-live="polite" aria-relevant="additions">
        {events.map((e, i) => (
          <li key={`${e.at}-${i}`} data-activity-type={e.type}>
            <time dateTime={e.at}>{formatDateTime(e.at, lang)}</time> <code>{e.type}</code>
            {e.userId && <span> user {e.userId}</span>}
            {e.diaryId && <span> diary {e.diaryId}</span>}
            <span class="muted"> @ {e.instanceId}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Snapshot({ socket, connected }: { socket: AdminSocket | null; connected: boolean }): JSX.Element {
  const t = useT();
  const [snapshot, setSnapshot] = useState<ActivitySnapshot | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refresh = () =>
    socket?.timeout(10_000).emit('activity:snapshot', {}, (err, res) => {
      if (err) return setError(String(err));
      if ('error' in res) return setError(res.error.message);
      setError(null);
      setSnapshot(res);
    });
  useEffect(() => {
    if (connected) refresh();
  }, [connected]);
  return (
    <section class="card" aria-labelledby="snapshot-title">
      <div class="row">
        <h2 id="snapshot-title">{t('admin.snapshot')}</h2>
        <button type="button" onClick={refresh} disabled={!connected}>
          {t('admin.refresh')}
        </button>
      </div>
      {error && <p role="alert">{error}</p>}
      {snapshot && (
        <>
          <p data-total-sockets={snapshot.totalSockets}>{t('admin.total', { n: snapshot.totalSockets })}</p>
          <p class={snapshot.partial ? 'notice' : 'muted'} data-partial={String(snapshot.partial)}>
            {t(snapshot.partial ? 'admin.partial' : 'admin.complete')}
          </p>
          <table>
            <caption>{t('admin.instances')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('admin.instance')}</th>
                <th scope="col">{t('admin.sockets')}</th>
                <th scope="col">{t('admin.adminSockets')}</th>
                <th scope="col">{t('admin.users')}</th>
              </tr>
            </thead>
            <tbody>
              {snapshot.instances.map((i) => (
                <tr key={i.instanceId}>
                  <th scope="row">{i.instanceId}</th>
                  <td>{i.sockets}</td>
                  <td>{i.adminSockets}</td>
                  <td>{i.users}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function Announcements({ socket }: { socket: AdminSocket | null }): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  const list = useAsync(() => admin.announcements(), []);
  const [acks, setAcks] = useState<Record<string, number>>({});
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [error, setError] = useState<unknown>();
  useAdminEvent(socket, 'announcement:acks', (e) => setAcks((m) => ({ ...m, [e.announcementId]: Math.max(m[e.announcementId] ?? 0, e.acks) })));

  async function send(e: Event) {
    e.preventDefault();
    setError(undefined);
    try {
      await admin.createAnnouncement({ title, body });
      setTitle('');
      setBody('');
      list.reload();
    } catch (err) {
      setError(err);
    }
  }

  const items: Array<Announcement & { acks: number }> = list.data?.items ?? [];
  return (
    <section class="card" aria-labelledby="ann-admin-title">
      <h2 id="ann-admin-title">{t('admin.announcements')}</h2>
      <form onSubmit={(e) => void send(e)}>
        <Field id="ann-title-input" label={t('admin.annTitle')}>
          {(aria) => <input {...aria} required maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />}
        </Field>
        <Field id="ann-body-input" label={t('admin.annBody')}>
          {(aria) => <textarea {...aria} required maxLength={5000} rows={3} value={body} onInput={(e) => setBody(e.currentTarget.value)} />}
        </Field>
        {error !== undefined && <ErrorBox error={error} />}
        <button type="submit" class="primary">
          {t('admin.send')}
        </button>
      </form>
      <ul class="announcements">
        {items.map((a) => (
          <li key={a.id} data-announcement-id={a.id}>
            <strong>{a.title}</strong> <time dateTime={a.createdAt}>{formatDateTime(a.createdAt, lang)}</time>{' '}
            <span class="badge" data-acks={Math.max(a.acks, acks[a.id] ?? 0)}>
              {t('admin.acks', { n: Math.max(a.acks, acks[a.id] ?? 0) })}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Users(): JSX.Element {
  const t = useT();
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const list = useAsync(() => admin.users({ q: search || undefined }), [search]);
  const [error, setError] = useState<unknown>();
  const act = (p: Promise<AdminUser>) => p.then(list.reload, setError);
  return (
    <section class="card" aria-labelledby="users-title">
      <h2 id="users-title">{t('admin.userList')}</h2>
      <form
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch(q.trim());
        }}
      >
        <Field id="user-search" label={t('admin.searchUsers')}>
          {(aria) => <input {...aria} type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />}
        </Field>
      </form>
      {(error ?? list.error) !== undefined && <ErrorBox error={error ?? list.error} />}
      <table>
        <thead>
          <tr>
            <th scope="col">{t('auth.username')}</th>
            <th scope="col">{t('auth.email')}</th>
            <th scope="col">{t('admin.role')}</th>
            <th scope="col">{t('admin.status')}</th>
            <th scope="col">{t('admin.premium')}</th>
            <th scope="col" />
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((u) => (
            <tr key={u.id} data-user-id={u.id}>
              <th scope="row">{u.username}</th>
              <td>{u.email}</td>
              <td>{u.role}</td>
              <td>{u.status}</td>
              <td>{u.isPremium ? t('common.yes') : t('common.no')}</td>
              <td class="row">
                <button type="button" onClick={() => void act(u.status === 'BLOCKED' ? admin.unblock(u.id) : admin.block(u.id))}>
                  {u.status === 'BLOCKED' ? t('admin.unblock') : t('admin.block')}
                </button>
                <button type="button" onClick={() => void act(admin.setRole(u.id, u.role === 'ADMIN' ? 'USER' : 'ADMIN'))}>
                  {u.role === 'ADMIN' ? t('admin.makeUser') : t('admin.makeAdmin')}
                </button>
                <button type="button" onClick={() => void act(admin.setPremium(u.id, !u.isPremium))}>
                  {u.isPremium ? t('admin.premiumOff') : t('admin.premiumOn')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function AdminScreen({ isAdmin }: { isAdmin: boolean }): JSX.Element {
  const t = useT();
  if (!isAdmin) return <Screen title={t('admin.title')}>{<p>{t('admin.forbidden')}</p>}</Screen>;
  return <AdminConsole />;
}

function AdminConsole(): JSX.Element {
  const t = useT();
  const { socket, connected } = useAdminSocket();
  return (
    <Screen title={t('admin.title')} actions={<span class={`conn conn-${connected ? 'live' : 'reconnecting'}`} data-admin-connected={String(connected)}>{t(connected ? 'conn.connected' : 'conn.connecting')}</span>}>
      <div class="admin-grid">
        <ActivityFeed socket={socket} />
        <Snapshot socket={socket} connected={connected} />
        <Announcements socket={socket} />
        <Users />
      </div>
    </Screen>
  );
}
