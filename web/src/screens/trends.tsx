import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { stats, thoughtRecords } from '../api/endpoints';
import type { ThoughtRecordStats, Trend } from '../api/types';
import { ErrorBox, Screen, useAsync } from '../components';
import { language, useT } from '../i18n';
import { distortionTerm } from '../i18n/analysis-terms';
import { useStore } from '../store';

const RANGES = [14, 30, 90] as const;
const SERIES = [
  { key: 'positive', color: '#2f9e66' },
  { key: 'negative', color: '#d1495b' },
  { key: 'neutral', color: '#6c757d' },
  { key: 'unanalyzed', color: '#c9a227' },
] as const;

function TrendChart({ trend, label }: { trend: Trend; label: string }): JSX.Element {
  const t = useT();
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const xs = trend.buckets.map((b) => Date.parse(`${b.start}T00:00:00Z`) / 1000);
    const names: Record<(typeof SERIES)[number]['key'], string> = {
      positive: t('emotionStatus.POSITIVE'),
      negative: t('emotionStatus.NEGATIVE'),
      neutral: t('emotionStatus.NEUTRAL'),
      unanalyzed: t('trends.unanalyzed'),
    };
    const chart = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 260,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{}, { label }],
        series: [{ label: t('trends.start') }, ...SERIES.map((s) => ({ label: names[s.key], stroke: s.color, width: 2, points: { show: true } }))],
      },
      [xs, ...SERIES.map((s) => trend.buckets.map((b) => b[s.key]))],
      el,
    );
    const resize = () => chart.setSize({ width: Math.max(280, el.clientWidth), height: 260 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.destroy();
    };
  }, [trend, label, t]);
  return <div ref={host} class="trend-chart" role="img" aria-label={label} />;
}

const signed = (n: number | null) => (n === null ? '–' : n > 0 ? `+${n}` : String(n));
const percent = (r: number | null) => (r === null ? '–' : `${Math.round(r * 100)}%`);

/** What the person's thought records show over the same range: ratings before → after, recurring traps, how the analysis fared. */
function ThoughtRecordSummary({ data }: { data: ThoughtRecordStats }): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  if (data.totals.records === 0) return <p class="empty">{t('trs.empty')}</p>;
  const r = data.ratings;
  return (
    <div class="card thought-record-stats">
      <p>
        {t('trs.records', { n: data.totals.records })}{' '}
        {r.rated > 0 && t('trs.change', { before: String(r.averageBefore), after: String(r.averageAfter), change: signed(r.averageChange) })}
      </p>
      <p>{t('trs.acceptance', { accepted: percent(data.totals.acceptanceRate), kept: percent(data.totals.keptRate), rejected: percent(data.totals.rejectionRate) })}</p>
      {data.distortions.length > 0 && (
        <>
          <h3>{t('trs.traps')}</h3>
          <ol>
            {data.distortions.slice(0, 5).map((d) => (
              <li key={d.category}>
                {distortionTerm(lang, d.category).name}: {d.count}
              </li>
            ))}
          </ol>
        </>
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">{t('trends.start')}</th>
            <th scope="col">{t('trs.recordsColumn')}</th>
            <th scope="col">{t('trf.before')}</th>
            <th scope="col">{t('trf.after')}</th>
          </tr>
        </thead>
        <tbody>
          {data.buckets
            .filter((b) => b.records > 0)
            .map((b) => (
              <tr key={b.start}>
                <th scope="row">{b.start}</th>
                <td>{b.records}</td>
                <td>{b.averageBefore ?? '–'}</td>
                <td>{b.averageAfter ?? '–'}</td>
              </tr>
            ))}
        </tbody>
      </table>
    </div>
  );
}

export function TrendsScreen(): JSX.Element {
  const t = useT();
  const [granularity, setGranularity] = useState<'day' | 'week'>('day');
  const [days, setDays] = useState<(typeof RANGES)[number]>(30);
  const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const { data, error, reload } = useAsync(() => {
    const to = new Date();
    const from = new Date(to.getTime() - days * 86_400_000);
    return stats.trend({ from: from.toISOString(), to: to.toISOString(), granularity, timezone });
  }, [granularity, days]);
  const records = useAsync(() => {
    const to = new Date();
    const from = new Date(to.getTime() - days * 86_400_000);
    return thoughtRecords.stats({ from: from.toISOString(), to: to.toISOString(), granularity, timezone });
  }, [granularity, days]);
  const unit = granularity === 'day' ? t('trends.day') : t('trends.week');
  const empty = data && data.buckets.every((b) => b.total === 0);

  return (
    <Screen title={t('trends.title')}>
      <div class="row toolbar">
        <div role="group" aria-label={t('trends.range')}>
          {(['day', 'week'] as const).map((g) => (
            <button key={g} type="button" aria-pressed={granularity === g} onClick={() => setGranularity(g)}>
              {g === 'day' ? t('trends.day') : t('trends.week')}
            </button>
          ))}
        </div>
        <label>
          {t('trends.range')}{' '}
          <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value) as (typeof RANGES)[number])}>
            {RANGES.map((n) => (
              <option key={n} value={n}>
                {t('trends.days', { n })}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error !== undefined && <ErrorBox error={error} onRetry={reload} />}
      {!data && error === undefined && <p aria-busy="true">{t('app.loading')}</p>}
      {empty && <p class="empty">{t('trends.empty')}</p>}
      {data && !empty && (
        <>
          <div class="card">
            <TrendChart trend={data} label={t('trends.chart', { unit })} />
          </div>
          <details class="card">
            <summary>{t('trends.table')}</summary>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('trends.start')}</th>
                  <th scope="col">{t('emotionStatus.POSITIVE')}</th>
                  <th scope="col">{t('emotionStatus.NEGATIVE')}</th>
                  <th scope="col">{t('emotionStatus.NEUTRAL')}</th>
                  <th scope="col">{t('trends.unanalyzed')}</th>
                  <th scope="col">{t('trends.total')}</th>
                </tr>
              </thead>
              <tbody>
                {data.buckets
                  .filter((b) => b.total > 0)
                  .map((b) => (
                    <tr key={b.start}>
                      <th scope="row">{b.start}</th>
                      <td>{b.positive}</td>
                      <td>{b.negative}</td>
                      <td>{b.neutral}</td>
                      <td>{b.unanalyzed}</td>
                      <td>{b.total}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          </details>
        </>
      )}
      <h2>{t('trs.title')}</h2>
      {records.error !== undefined && <ErrorBox error={records.error} onRetry={records.reload} />}
      {records.data && <ThoughtRecordSummary data={records.data} />}
    </Screen>
  );
}
