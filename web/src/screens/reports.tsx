import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { reports } from '../api/endpoints';
import type { Report } from '../api/types';
import { ErrorBox, Screen, useAsync } from '../components';
import { formatDateTime, language, useT } from '../i18n';
import { distortionTerm, emotionName } from '../i18n/analysis-terms';
import { useStore } from '../store';

function ReportCard({ report, onDelete }: { report: Report; onDelete: () => void }): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  const s = report.summary;
  return (
    <article class="card report" data-report-id={report.id}>
      <h2>
        {formatDateTime(report.periodStart, lang)} – {formatDateTime(report.periodEnd, lang)}
      </h2>
      <p>
        {t('reports.entries', { n: s.totals.entries })} · {t('reports.analyzed')} {s.totals.analyzed} · {t('emotionStatus.POSITIVE')} {s.totals.positive} · {t('emotionStatus.NEGATIVE')}{' '}
        {s.totals.negative} · {t('emotionStatus.NEUTRAL')} {s.totals.neutral}
      </p>
      <h3>{t('reports.dominant')}</h3>
      <p>{s.dominantEmotions.length ? s.dominantEmotions.map((e) => `${emotionName(lang, e.name)} ${Math.round(e.averageScore * 100)}`).join(', ') : t('reports.none')}</p>
      <h3>{t('reports.streak')}</h3>
      <p>{t('reports.streakDays', { n: s.negativeStreak.longestDays })}</p>
      <h3>{t('reports.distortions')}</h3>
      <p>{s.distortions.length ? s.distortions.map((d) => `${distortionTerm(lang, d.category).name} × ${d.count}`).join(', ') : t('reports.none')}</p>
      {s.alternativeThoughts.length > 0 && (
        <>
          <h3>{t('reports.alternatives')}</h3>
          <ul>
            {s.alternativeThoughts.map((x, i) => (
              <li key={i}>{x}</li>
            ))}
          </ul>
        </>
      )}
      <button type="button" class="link danger" onClick={onDelete}>
        {t('reports.delete')}
      </button>
    </article>
  );
}

export function ReportsScreen(): JSX.Element {
  const t = useT();
  const list = useAsync(() => reports.list(), []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  async function generate(days: number) {
    setBusy(true);
    setError(undefined);
    try {
      const to = new Date();
      await reports.generate({ from: new Date(to.getTime() - days * 86_400_000).toISOString(), to: to.toISOString(), timezone });
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Screen
      title={t('reports.title')}
      actions={[7, 30].map((n) => (
        <button key={n} type="button" disabled={busy} onClick={() => void generate(n)}>
          {t('reports.generate')}: {t('trends.days', { n })}
        </button>
      ))}
    >
      {busy && <p role="status">{t('reports.generating')}</p>}
      {error !== undefined && <ErrorBox error={error} />}
      {list.error !== undefined && <ErrorBox error={list.error} onRetry={list.reload} />}
      {list.data?.items.length === 0 && <p class="empty">{t('reports.empty')}</p>}
      {list.data?.items.map((r) => <ReportCard key={r.id} report={r} onDelete={() => void reports.remove(r.id).then(list.reload, setError)} />)}
    </Screen>
  );
}
