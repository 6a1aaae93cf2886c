import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Distortion } from '../../../kernel/contracts/thought-records';
import { ApiError } from '../api/client';
import { thoughtRecords } from '../api/endpoints';
import type { AnalysisView, ThoughtRecord, ThoughtRecordBody } from '../api/types';
import { ErrorBox, useAsync } from '../components';
import { language, useT } from '../i18n';
import { DISTORTION_KEYS, distortionTerm, emotionSuggestions } from '../i18n/analysis-terms';
import { thoughtRecordChanges } from '../realtime';
import { useStore } from '../store';

type Decision = '' | 'accepted' | 'edited' | 'rejected';

interface Draft {
  analysisRevision: number;
  thoughts: Array<{ original: AnalysisView['automaticThoughts'][number]; decision: Decision; text: string; distortion: string }>;
  own: Array<{ text: string; distortion: string }>;
  emotions: Array<{ name: string; before: string; after: string }>;
  evidenceFor: string;
  evidenceAgainst: string;
  balancedThought: string;
}

/**
 * The draft a saved record gives. A record about an older analysis (stale) keeps the person's
 * ratings, evidence and own thoughts, and offers the current analysis's thoughts undecided.
 */
function draftOf(record: ThoughtRecord, analysis: AnalysisView): Draft {
  const fresh = !record.stale || record.analysisRevision === analysis.revision;
  const emotions = new Map<string, { name: string; before: string; after: string }>();
  for (const e of record.emotionsBefore) emotions.set(e.name.toLowerCase(), { name: e.name, before: String(e.rating), after: '' });
  for (const e of record.emotionsAfter) {
    const row = emotions.get(e.name.toLowerCase()) ?? { name: e.name, before: '', after: '' };
    emotions.set(e.name.toLowerCase(), { ...row, after: String(e.rating) });
  }
  return {
    analysisRevision: fresh ? record.analysisRevision : analysis.revision,
    thoughts: fresh
      ? record.thoughts.map((t) => ({ original: t.original, decision: t.decision ?? '', text: t.text ?? '', distortion: t.distortion ?? '' }))
      : analysis.automaticThoughts.map((original) => ({ original, decision: '' as Decision, text: '', distortion: '' })),
    own: record.ownThoughts.map((o) => ({ text: o.text, distortion: o.distortion ?? '' })),
    emotions: emotions.size ? [...emotions.values()] : [{ name: '', before: '', after: '' }],
    evidenceFor: record.evidenceFor,
    evidenceAgainst: record.evidenceAgainst,
    balancedThought: record.balancedThought,
  };
}

function bodyOf(draft: Draft, version: number): ThoughtRecordBody {
  const rated = draft.emotions.filter((e) => e.name.trim());
  const ratings = (pick: 'before' | 'after') => rated.filter((e) => e[pick] !== '').map((e) => ({ name: e.name.trim(), rating: Number(e[pick]) }));
  return {
    analysisRevision: draft.analysisRevision,
    expectedVersion: version,
    thoughts: draft.thoughts.flatMap((t, index): NonNullable<ThoughtRecordBody['thoughts']> => {
      if (!t.decision) return [];
      if (t.decision !== 'edited') return [{ index, decision: t.decision }];
      const text = t.text.trim() && t.text.trim() !== t.original.text ? t.text.trim() : undefined;
      const distortion = t.distortion && t.distortion !== t.original.distortion ? (t.distortion as Distortion) : undefined;
      // An "edit" that changes nothing is an acceptance.
      return text || distortion ? [{ index, decision: 'edited' as const, text, distortion }] : [{ index, decision: 'accepted' as const }];
    }),
    ownThoughts: draft.own.filter((o) => o.text.trim()).map((o) => ({ text: o.text.trim(), distortion: (o.distortion || null) as Distortion | null })),
    emotionsBefore: ratings('before'),
    emotionsAfter: ratings('after'),
    evidenceFor: draft.evidenceFor,
    evidenceAgainst: draft.evidenceAgainst,
    balancedThought: draft.balancedThought,
  };
}

/**
 * The person's own thought record of an analysed entry: accept, edit or reject each automatic
 * thought, add their own, rate emotions before and after, evidence and a balanced thought. A save
 * on another device (`thought-record:changed`) reloads the form, unless this one has unsaved
 * changes: then it says so and the next save is refused (version check) rather than overwriting.
 */
export function ThoughtRecordForm({ diaryId, analysis }: { diaryId: string; analysis: AnalysisView }): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  const { data, error, reload, setData } = useAsync(() => thoughtRecords.get(diaryId), [diaryId, analysis.revision]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [dirty, setDirty] = useState(false);
  const [busy, setBusy] = useState(false);
  const [saveError, setSaveError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [elsewhere, setElsewhere] = useState(false);
  const change = useStore(thoughtRecordChanges);

  useEffect(() => {
    if (data) {
      setDraft(draftOf(data, analysis));
      setDirty(false);
      setElsewhere(false);
    }
  }, [data]);
  useEffect(() => {
    if (!change || change.diaryId !== diaryId || !data || change.version === data.version) return;
    if (dirty) setElsewhere(true);
    else reload();
  }, [change]);

  if (error) return <ErrorBox error={error} onRetry={reload} />;
  if (!data || !draft) return <p aria-busy="true">{t('app.loading')}</p>;

  const edit = (next: Partial<Draft>) => {
    setDraft({ ...draft, ...next });
    setDirty(true);
    setSaved(false);
  };
  const editAt = <K extends 'thoughts' | 'own' | 'emotions'>(key: K, i: number, value: Partial<Draft[K][number]>) =>
    edit({ [key]: draft[key].map((row, j) => (j === i ? { ...row, ...value } : row)) } as Partial<Draft>);

  async function save(event: Event) {
    event.preventDefault();
    setBusy(true);
    setSaveError(undefined);
    try {
      setData(await thoughtRecords.save(diaryId, bodyOf(draft!, data!.version)));
      setSaved(true);
    } catch (err) {
      setSaveError(err);
    } finally {
      setBusy(false);
    }
  }

  const conflict = saveError instanceof ApiError && saveError.code === 'version_conflict';
  const distortionOptions = (value: string, onChange: (v: string) => void, id: string, none: string) => (
    <select id={id} aria-label={t('trf.trapIs')} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
      <option value="">{none}</option>
      {DISTORTION_KEYS.map((k) => (
        <option key={k} value={k}>
          {distortionTerm(lang, k).name}
        </option>
      ))}
    </select>
  );

  return (
    <form class="card thought-record-form" onSubmit={(e) => void save(e)}>
      <h3>{t('trf.title')}</h3>
      <p class="hint">{t('trf.intro')}</p>
      {data.stale && data.version > 0 && <p class="notice">{t('trf.stale')}</p>}
      {elsewhere && <p class="notice">{t('trf.elsewhere')}</p>}

      <fieldset>
        <legend>{t('trf.emotions')}</legend>
        <datalist id="trf-emotion-words">
          {emotionSuggestions(lang).map((w) => (
            <option key={w} value={w} />
          ))}
        </datalist>
        <table class="ratings">
          <thead>
            <tr>
              <th scope="col">{t('trf.emotion')}</th>
              <th scope="col">{t('trf.before')}</th>
              <th scope="col">{t('trf.after')}</th>
              <th scope="col">
                <span class="sr-only">{t('trf.remove')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {draft.emotions.map((e, i) => (
              <tr key={i}>
                <td>
                  <input aria-label={t('trf.emotion')} list="trf-emotion-words" maxLength={40} value={e.name} onInput={(ev) => editAt('emotions', i, { name: ev.currentTarget.value })} />
                </td>
                {(['before', 'after'] as const).map((when) => (
                  <td key={when}>
                    <input
                      aria-label={`${t(when === 'before' ? 'trf.before' : 'trf.after')} ${e.name}`}
                      type="number"
                      min={0}
                      max={100}
                      step={1}
                      inputMode="numeric"
                      value={e[when]}
                      onInput={(ev) => editAt('emotions', i, { [when]: ev.currentTarget.value })}
                    />
                  </td>
                ))}
                <td>
                  <button type="button" class="link" onClick={() => edit({ emotions: draft.emotions.filter((_, j) => j !== i) })}>
                    {t('trf.remove')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" onClick={() => edit({ emotions: [...draft.emotions, { name: '', before: '', after: '' }] })}>
          {t('trf.addEmotion')}
        </button>
      </fieldset>

      <fieldset>
        <legend>{t('tr.thoughts')}</legend>
        {draft.thoughts.length === 0 && <p>{t('tr.noThoughts')}</p>}
        <ol class="thoughts">
          {draft.thoughts.map((th, i) => (
            <li key={i} class="thought">
              <blockquote>{th.original.text}</blockquote>
              <p class="muted">
                {t('tr.distortion')}: <strong>{distortionTerm(lang, th.original.distortion).name}</strong>
              </p>
              <div class="row" role="radiogroup" aria-label={t('trf.decision')}>
                {(['accepted', 'edited', 'rejected'] as const).map((d) => (
                  <label key={d}>
                    <input type="radio" name={`decision-${i}`} value={d} checked={th.decision === d} onChange={() => editAt('thoughts', i, { decision: d })} /> {t(`trf.${d}`)}
                  </label>
                ))}
              </div>
              {th.decision === 'edited' && (
                <div class="field">
                  <label for={`trf-text-${i}`}>{t('trf.inMyWords')}</label>
                  <textarea id={`trf-text-${i}`} rows={2} maxLength={1000} value={th.text || th.original.text} onInput={(ev) => editAt('thoughts', i, { text: ev.currentTarget.value })} />
                  <label for={`trf-distortion-${i}`}>{t('trf.trapIs')}</label>
                  {distortionOptions(th.distortion || th.original.distortion, (v) => editAt('thoughts', i, { distortion: v }), `trf-distortion-${i}`, t('trf.noTrap'))}
                </div>
              )}
            </li>
          ))}
        </ol>
        <h4>{t('trf.own')}</h4>
        {draft.own.map((o, i) => (
          <div key={i} class="row own-thought">
            <input aria-label={t('trf.ownThought')} maxLength={1000} value={o.text} onInput={(ev) => editAt('own', i, { text: ev.currentTarget.value })} />
            {distortionOptions(o.distortion, (v) => editAt('own', i, { distortion: v }), `trf-own-${i}`, t('trf.noTrap'))}
            <button type="button" class="link" onClick={() => edit({ own: draft.own.filter((_, j) => j !== i) })}>
              {t('trf.remove')}
            </button>
          </div>
        ))}
        {draft.own.length < 20 && (
          <button type="button" onClick={() => edit({ own: [...draft.own, { text: '', distortion: '' }] })}>
            {t('trf.addOwn')}
          </button>
        )}
      </fieldset>

      {(['evidenceFor', 'evidenceAgainst', 'balancedThought'] as const).map((key) => (
        <div key={key} class="field">
          <label for={`trf-${key}`}>{t(`trf.${key}`)}</label>
          <textarea id={`trf-${key}`} rows={3} maxLength={4000} value={draft[key]} onInput={(ev) => edit({ [key]: ev.currentTarget.value })} />
        </div>
      ))}

      {saveError !== undefined && <ErrorBox error={saveError} onRetry={conflict ? reload : undefined} />}
      <div class="row">
        <button class="primary" type="submit" disabled={busy}>
          {busy ? t('diary.saving') : t('trf.save')}
        </button>
        {saved && !dirty && <span role="status">{t('trf.saved', { n: data.version })}</span>}
      </div>
    </form>
  );
}
