import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { auth, settings } from '../api/endpoints';
import { endSession, session } from '../api/session';
import type { UserProfile } from '../api/types';
import { ErrorBox, Screen } from '../components';
import { LANGUAGES, language, useT, type Language } from '../i18n';
import { navigate } from '../router';
import { useStore } from '../store';

const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', ko: '한국어' };
const TRAINING_CONSENT = 'training.shareCorrections';

/** The opt-in for sharing thought-record corrections as training data (off by default). */
function TrainingConsent(): JSX.Element {
  const t = useT();
  const [value, setValue] = useState<boolean | null>(null);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    settings.list().then((r) => setValue(r.items.find((s) => s.key === TRAINING_CONSENT)?.value === true), setError);
  }, []);
  async function change(next: boolean) {
    setError(undefined);
    try {
      setValue((await settings.set(TRAINING_CONSENT, next)).value === true);
    } catch (err) {
      setError(err);
    }
  }
  return (
    <div class="card">
      <h2>{t('settings.training')}</h2>
      <label>
        <input type="checkbox" checked={value === true} disabled={value === null} aria-describedby="training-hint" onChange={(e) => void change(e.currentTarget.checked)} />{' '}
        {t('settings.trainingShare')}
      </label>
      <small id="training-hint" class="hint">
        {' '}
        {t('settings.trainingHint')}
      </small>
      {error !== undefined && <ErrorBox error={error} />}
    </div>
  );
}

export function SettingsScreen({ me }: { me: UserProfile }): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>();

  async function changeLanguage(next: Language) {
    setSaved(false);
    setError(undefined);
    language.set(next);
    try {
      await settings.set('language', next);
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  }

  async function logout(everywhere: boolean) {
    const current = session.get();
    try {
      if (everywhere) await auth.logoutAll();
      else if (current) await auth.logout(current.refreshToken);
    } catch {
      // The tokens are dropped here either way; a failed call leaves a session that expires.
    }
    endSession('logout');
    navigate('/login', { replace: true });
  }

  return (
    <Screen title={t('settings.title')}>
      <div class="card">
        <label for="language">{t('settings.language')}</label>{' '}
        <select id="language" value={lang} onChange={(e) => void changeLanguage(e.currentTarget.value as Language)}>
          {LANGUAGES.map((l) => (
            <option key={l} value={l}>
              {LANGUAGE_NAMES[l]}
            </option>
          ))}
        </select>
        {saved && <span role="status"> {t('settings.saved')}</span>}
        {error !== undefined && <ErrorBox error={error} />}
        <p>
          {t('settings.timezone')}: {Intl.DateTimeFormat().resolvedOptions().timeZone}
        </p>
      </div>
      <TrainingConsent />
      <div class="card">
        <h2>{t('settings.account')}</h2>
        <p>{t('settings.signedInAs', { name: me.nickname, username: me.username })}</p>
        <div class="row">
          <button type="button" onClick={() => void logout(false)}>
            {t('auth.logout')}
          </button>
          <button type="button" class="danger" onClick={() => void logout(true)} aria-describedby="logout-all-hint">
            {t('auth.logoutAll')}
          </button>
        </div>
        <small id="logout-all-hint" class="hint">
          {t('auth.logoutAllHint')}
        </small>
      </div>
    </Screen>
  );
}
