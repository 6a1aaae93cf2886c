import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { announcements, inbox } from '../api/endpoints';
import type { StoredNotification } from '../api/types';
import { ErrorBox, Screen, useAsync } from '../components';
import { formatDateTime, language, useT, type Translate } from '../i18n';
import { liveNotifications } from '../realtime';
import { Link } from '../router';
import { useStore } from '../store';

type Item = Pick<StoredNotification, 'id' | 'seq' | 'type' | 'payload' | 'createdAt'> & { ackedAt?: string | null };

function describe(t: Translate, n: Item): JSX.Element | string {
  if (n.type === 'analysis.status') {
    const p = n.payload as { diaryId: string; revision: number; status: 'PROCESSING' | 'COMPLETED' | 'FAILED' };
    return <Link to={`/diary/${p.diaryId}`}>{t('inbox.analysis', { id: p.diaryId, rev: p.revision, status: t(`status.${p.status}`) })}</Link>;
  }
  return n.type;
}

export function InboxScreen({ onAcked }: { onAcked: () => void }): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  const live = useStore(liveNotifications);
  const [older, setOlder] = useState<Item[]>([]);
  const [error, setError] = useState<unknown>();
  const first = useAsync(() => inbox.list({ limit: 50 }), []);
  const anns = useAsync(() => announcements.list(), []);
  const [ackedUpTo, setAckedUpTo] = useState(0);

  // Newest first: what arrived live, then the pages REST answered, each notification once.
  const byId = new Map<string, Item>();
  for (const n of [...live].reverse()) byId.set(n.id, n);
  for (const n of [...(first.data?.items ?? []), ...older]) if (!byId.has(n.id) || n.ackedAt) byId.set(n.id, n);
  const items = [...byId.values()].sort((a, b) => b.seq - a.seq);
  const maxSeq = items[0]?.seq ?? 0;
  const oldest = items.at(-1)?.seq;

  async function ackAll() {
    try {
      await inbox.ackUpTo(maxSeq);
      setAckedUpTo(maxSeq);
      onAcked();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <Screen
      title={t('inbox.title')}
      actions={
        <button type="button" onClick={() => void ackAll()} disabled={maxSeq === 0}>
          {t('inbox.ackAll')}
        </button>
      }
    >
      {error !== undefined && <ErrorBox error={error} />}
      {first.error !== undefined && <ErrorBox error={first.error} onRetry={first.reload} />}
      {first.data && items.length === 0 && <p class="empty">{t('inbox.empty')}</p>}
      <ul class="inbox" aria-label={t('inbox.title')}>
        {items.map((n) => {
          const acked = Boolean(n.ackedAt) || n.seq <= ackedUpTo;
          return (
            <li key={n.id} class={`card inbox-item ${acked ? 'acked' : 'unacked'}`} data-seq={n.seq}>
              <span>{describe(t, n)}</span>
              <span class="meta">
                <time dateTime={n.createdAt}>{formatDateTime(n.createdAt, lang)}</time>
                {acked && <span class="badge">{t('inbox.acked')}</span>}
              </span>
            </li>
          );
        })}
      </ul>
      {first.data && first.data.items.length === 50 && oldest !== undefined && oldest > 1 && (
        <button type="button" onClick={() => void inbox.list({ beforeSeq: oldest, limit: 50 }).then((page) => setOlder((o) => [...o, ...page.items]), setError)}>
          {t('inbox.more')}
        </button>
      )}
      <h2>{t('inbox.announcements')}</h2>
      {anns.data?.items.length === 0 && <p class="empty">{t('inbox.empty')}</p>}
      <ul class="announcements">
        {anns.data?.items.map((a) => (
          <li key={a.id} class="card" data-announcement-id={a.id}>
            <strong>{a.title}</strong>
            <p>{a.body}</p>
            <p class="meta">
              <time dateTime={a.createdAt}>{formatDateTime(a.createdAt, lang)}</time>{' '}
              {a.acked ? (
                <span class="badge">{t('inbox.acked')}</span>
              ) : (
                <button type="button" onClick={() => void announcements.ack(a.id).then(anns.reload, setError)}>
                  {t('ann.ok')}
                </button>
              )}
            </p>
          </li>
        ))}
      </ul>
    </Screen>
  );
}
