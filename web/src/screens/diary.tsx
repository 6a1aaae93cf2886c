import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { AnalysisStatus, EmotionStatus } from '../../../kernel/contracts/statuses';
import { ApiError } from '../api/client';
import { diaries, type DiaryFilters } from '../api/endpoints';
import type { AnalysisView, Diary, DiarySummary } from '../api/types';
import { ErrorBox, Field, Screen, StatusBadge, useAsync } from '../components';
import { formatDateTime, language, useT } from '../i18n';
import { distortionTerm, emotionName } from '../i18n/analysis-terms';
import { liveStatuses, type LiveStatus } from '../realtime';
import { Link, navigate, useRoute } from '../router';
import { useStore } from '../store';
import { ThoughtRecordForm } from './thought-record-form';

const EMOTION_STATUSES: EmotionStatus[] = ['POSITIVE', 'NEGATIVE', 'NEUTRAL'];
const ANALYSIS_STATUSES: AnalysisStatus[] = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'];

/** What REST answered, with the live status laid over it when it is for the same or a later revision. */
function withLive<T extends Pick<DiarySummary, 'revision' | 'analysisStatus' | 'emotionStatus'>>(item: T, live: LiveStatus | undefined): T {
  if (!live || live.revision < item.revision) return item;
  return { ...item, analysisStatus: live.status, emotionStatus: live.summary?.emotionStatus ?? item.emotionStatus };
}

/** A filter over one of the API's enums, "any" first. */
function EnumSelect<V extends string>(props: { id: string; label: string; any: string; values: readonly V[]; name: (v: V) => string; value: V | undefined; onChange: (v: V | undefined) => void }): JSX.Element {
  return (
    <Field id={props.id} label={props.label}>
      {(aria) => (
        <select {...aria} value={props.value ?? ''} onChange={(e) => props.onChange((e.currentTarget.value || undefined) as V | undefined)}>
          <option value="">{props.any}</option>
          {props.values.map((v) => (
            <option key={v} value={v}>
              {props.name(v)}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function DiaryListScreen(): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  const live = useStore(liveStatuses);
  const { query } = useRoute();
  const filters: DiaryFilters = {
    q: query.get('q') ?? undefined,
    emotion: (query.get('emotion') as EmotionStatus | null) ?? undefined,
    analysisStatus: (query.get('analysisStatus') as AnalysisStatus | null) ?? undefined,
  };
  const key = JSON.stringify(filters);
  const [pages, setPages] = useState<{ items: DiarySummary[]; nextCursor: string | null } | null>(null);
  const [error, setError] = useState<unknown>();
  const [draft, setDraft] = useState(filters);

  const load = (cursor?: string | null) =>
    diaries.list(filters, cursor).then(
      (page) => setPages((prev) => (cursor && prev ? { items: [...prev.items, ...page.items], nextCursor: page.nextCursor } : page)),
      setError,
    );
  useEffect(() => {
    setPages(null);
    setError(undefined);
    setDraft(filters);
    void load();
  }, [key]);

  // An entry written in another tab or on another device: its first status reaches this page live.
  // The first page is loaded again for each new one (several may arrive while a load is on its way).
  const knownIds = new Set(pages?.items.map((d) => d.id));
  const unfiltered = !filters.q && !filters.emotion && !filters.analysisStatus;
  const unseen = unfiltered ? [...live.keys()].filter((id) => !knownIds.has(id) && live.get(id)!.revision === 1).join(',') : '';
  useEffect(() => {
    if (unseen && pages) void load();
  }, [unseen]);

  function apply(e: Event) {
    e.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(draft)) if (v) params.set(k, String(v));
    navigate(params.size ? `/?${params}` : '/');
  }

  const filtered = Boolean(filters.q || filters.emotion || filters.analysisStatus);
  return (
    <Screen
      title={t('diary.title')}
      actions={
        <Link class="button primary" to="/diary/new">
          {t('diary.new')}
        </Link>
      }
    >
      <form class="filters" role="search" onSubmit={apply}>
        <Field id="q" label={t('diary.search')}>
          {(aria) => <input {...aria} type="search" placeholder={t('diary.searchPlaceholder')} maxLength={100} value={draft.q ?? ''} onInput={(e) => setDraft({ ...draft, q: e.currentTarget.value || undefined })} />}
        </Field>
        <EnumSelect id="emotion" label={t('diary.emotion')} any={t('diary.any')} values={EMOTION_STATUSES} name={(v) => t(`emotionStatus.${v}`)} value={draft.emotion} onChange={(emotion) => setDraft({ ...draft, emotion })} />
        <EnumSelect id="analysisStatus" label={t('diary.analysis')} any={t('diary.any')} values={ANALYSIS_STATUSES} name={(v) => t(`status.${v}`)} value={draft.analysisStatus} onChange={(analysisStatus) => setDraft({ ...draft, analysisStatus })} />
        <div class="filter-buttons">
          <button type="submit">{t('diary.apply')}</button>
          {filtered && (
            <button type="button" class="link" onClick={() => navigate('/')}>
              {t('diary.clear')}
            </button>
          )}
        </div>
      </form>
      {error !== undefined && <ErrorBox error={error} onRetry={() => void load()} />}
      {!pages && error === undefined && <p aria-busy="true">{t('app.loading')}</p>}
      {pages && pages.items.length === 0 && <p class="empty">{t(filtered ? 'diary.noMatch' : 'diary.empty')}</p>}
      {pages && pages.items.length > 0 && (
        <ul class="diary-list" aria-label={t('diary.title')}>
          {pages.items.map((raw) => {
            const d = withLive(raw, live.get(raw.id));
            return (
              <li key={d.id} class="card diary-item" data-diary-id={d.id}>
                <div class="row">
                  <Link to={`/diary/${d.id}`} class="diary-title">
                    {d.title ?? t('diary.untitled')}
                  </Link>
                  <StatusBadge status={d.analysisStatus} />
                </div>
                <p class="excerpt">{d.excerpt}</p>
                <p class="meta">
                  <time dateTime={d.createdAt}>{formatDateTime(d.createdAt, lang)}</time>
                  {d.emotionStatus && <span class={`emotion emotion-${d.emotionStatus.toLowerCase()}`}>{t(`emotionStatus.${d.emotionStatus}`)}</span>}
                </p>
              </li>
            );
          })}
        </ul>
      )}
      {pages?.nextCursor && (
        <button type="button" onClick={() => void load(pages.nextCursor)}>
          {t('diary.more')}
        </button>
      )}
    </Screen>
  );
}

export function DiaryEditorScreen({ id }: { id?: string }): JSX.Element {
  const t = useT();
  const existing = useAsync(() => (id ? diaries.get(id) : Promise.resolve(null)), [id]);
  const [title, setTitle] = useState('');
  const [content, setContent] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (existing.data) {
      setTitle(existing.data.title ?? '');
      setContent(existing.data.content);
    }
  }, [existing.data]);
  const fields = error instanceof ApiError ? error.fieldErrors() : {};

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = { title: title.trim() || null, content };
      const saved = id ? await diaries.update(id, body) : await diaries.create(body);
      navigate(`/diary/${saved.id}`, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (id && existing.error) return <ErrorBox error={existing.error} onRetry={existing.reload} />;
  return (
    <Screen title={id ? t('diary.edit') : t('diary.new')}>
      <form class="card editor" onSubmit={(e) => void submit(e)}>
        <Field id="title" label={t('diary.entryTitle')} error={fields.title}>
          {(aria) => <input {...aria} name="title" maxLength={255} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />}
        </Field>
        <Field id="content" label={t('diary.content')} error={fields.content}>
          {(aria) => <textarea {...aria} name="content" rows={12} required value={content} onInput={(e) => setContent(e.currentTarget.value)} />}
        </Field>
        {error !== undefined && !Object.keys(fields).length && <ErrorBox error={error} />}
        <div class="row">
          <button class="primary" type="submit" disabled={busy}>
            {busy ? t('diary.saving') : t('diary.save')}
          </button>
          <button type="button" class="link" onClick={() => history.back()}>
            {t('diary.cancel')}
          </button>
        </div>
      </form>
    </Screen>
  );
}

/** Emotion scores as a horizontal bar chart (SVG, with the numbers as text for screen readers). */
function EmotionChart({ emotions }: { emotions: AnalysisView['emotions'] }): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  const rows = [...emotions].sort((a, b) => b.score - a.score);
  const height = rows.length * 28;
  return (
    <figure class="emotion-chart">
      <figcaption>{t('tr.emotionsChart')}</figcaption>
      <svg viewBox={`0 0 320 ${height}`} width="100%" role="img" aria-label={rows.map((e) => `${emotionName(lang, e.name)} ${Math.round(e.score * 100)}`).join(', ')}>
        {rows.map((e, i) => (
          <g key={e.name} transform={`translate(0 ${i * 28})`}>
            <text x="0" y="18" class="label">
              {emotionName(lang, e.name)}
            </text>
            <rect x="110" y="6" width={Math.max(1, e.score * 170)} height="16" rx="3" class={`bar bar-${e.name}`} />
            <text x={116 + e.score * 170} y="18" class="value">
              {Math.round(e.score * 100)}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

function ThoughtRecord({ diary, onReanalyze }: { diary: Diary; onReanalyze: () => void }): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  const a = diary.analysis;
  if (diary.analysisStatus === 'FAILED')
    return (
      <div class="card">
        <p>{t('tr.failed')}</p>
        <button type="button" onClick={onReanalyze}>
          {t('tr.reanalyze')}
        </button>
      </div>
    );
  if (!a) return <p class="card">{t('tr.pending')}</p>;
  return (
    <div class="thought-record">
      {a.revision < diary.revision && <p class="notice">{t('tr.stale')}</p>}
      <div class="card">
        <h3>{t('tr.overall')}</h3>
        <p class={`emotion emotion-${a.emotionStatus.toLowerCase()}`}>{t(`emotionStatus.${a.emotionStatus}`)}</p>
        <EmotionChart emotions={a.emotions} />
      </div>
      <div class="card">
        <h3>{t('tr.thoughts')}</h3>
        {a.automaticThoughts.length === 0 && <p>{t('tr.noThoughts')}</p>}
        <ol class="thoughts">
          {a.automaticThoughts.map((th, i) => {
            const trap = distortionTerm(lang, th.distortion);
            return (
              <li key={i} class="thought">
                <blockquote>{th.text}</blockquote>
                <dl>
                  <dt>{t('tr.distortion')}</dt>
                  <dd>
                    <strong>{trap.name}</strong> <span class="muted">({t('tr.intensity', { n: Math.round(th.intensity * 100) })})</span>
                    {trap.explanation && <p class="muted">{trap.explanation}</p>}
                  </dd>
                  <dt>{t('tr.alternative')}</dt>
                  <dd>{th.alternativeThought}</dd>
                </dl>
              </li>
            );
          })}
        </ol>
        {a.alternativeThoughts.length > 0 && (
          <>
            <h4>{t('tr.alternatives')}</h4>
            <ul>
              {a.alternativeThoughts.map((x, i) => (
                <li key={i}>{x}</li>
              ))}
            </ul>
          </>
        )}
        <h4>{t('tr.prompt')}</h4>
        <p class="prompt">{a.promptForChange}</p>
        <p class="muted small">{t('tr.by', { analyzer: a.analyzer, version: a.analyzerVersion })}</p>
      </div>
    </div>
  );
}

export function DiaryDetailScreen({ id }: { id: string }): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  const { data, error, reload, setData } = useAsync(() => diaries.get(id), [id]);
  const live = useStore(liveStatuses).get(id);
  const [actionError, setActionError] = useState<unknown>();

  // A terminal status for this revision arrived live: fetch the full analysis it announced.
  useEffect(() => {
    if (data && live && live.revision >= data.revision && (live.status === 'COMPLETED' || live.status === 'FAILED') && data.analysisStatus !== live.status) reload();
  }, [live?.seq]);

  if (error instanceof ApiError && error.status === 404) return <Screen title={t('diary.notFound')}>{<Link to="/">{t('diary.back')}</Link>}</Screen>;
  if (error) return <ErrorBox error={error} onRetry={reload} />;
  if (!data) return <p aria-busy="true">{t('app.loading')}</p>;
  const diary = withLive(data, live);

  const reanalyze = () => diaries.reanalyze(id).then(setData, setActionError);
  const remove = async () => {
    if (!confirm(t('diary.deleteConfirm'))) return;
    try {
      await diaries.remove(id);
      navigate('/', { replace: true });
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <Screen
      title={diary.title ?? t('diary.untitled')}
      actions={
        <>
          <Link class="button" to={`/diary/${id}/edit`}>
            {t('diary.edit')}
          </Link>
          <button type="button" onClick={() => void reanalyze()}>
            {t('tr.reanalyze')}
          </button>
          <button type="button" class="danger" onClick={() => void remove()}>
            {t('diary.delete')}
          </button>
        </>
      }
    >
      <p class="meta">
        <Link to="/">← {t('diary.back')}</Link> · <time dateTime={diary.createdAt}>{t('diary.written', { date: formatDateTime(diary.createdAt, lang) })}</time> · {t('diary.revision', { n: diary.revision })} ·{' '}
        <StatusBadge status={diary.analysisStatus} />
      </p>
      {actionError !== undefined && <ErrorBox error={actionError} />}
      <article class="card content">{diary.content}</article>
      <h2>{t('tr.title')}</h2>
      <ThoughtRecord diary={diary} onReanalyze={() => void reanalyze()} />
      {diary.analysis && <ThoughtRecordForm diaryId={id} analysis={diary.analysis} />}
    </Screen>
  );
}

export function useDiaryRoute(): JSX.Element | null {
  const { path } = useRoute();
  if (path === '/diary/new') return <DiaryEditorScreen />;
  const edit = /^\/diary\/(\d{1,20})\/edit$/.exec(path);
  if (edit) return <DiaryEditorScreen id={edit[1]} />;
  const detail = /^\/diary\/(\d{1,20})$/.exec(path);
  if (detail) return <DiaryDetailScreen id={detail[1]!} />;
  return null;
}
