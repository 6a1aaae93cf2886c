import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { inbox, me as fetchMe, settings } from './api/endpoints';
import { session } from './api/session';
import type { UserProfile } from './api/types';
import { AnnouncementDialog, ConnectionIndicator, ErrorBox } from './components';
import { LANGUAGES, language, useT, type Language } from './i18n';
import { connectRealtime, liveNotifications } from './realtime';
import { Link, navigate, useRoute } from './router';
import { AdminScreen } from './screens/admin';
import { LoginScreen, SignupScreen, useOAuthLanding, VerifyScreen } from './screens/auth';
import { DiaryListScreen, useDiaryRoute } from './screens/diary';
import { InboxScreen } from './screens/inbox';
import { ReportsScreen } from './screens/reports';
import { SettingsScreen } from './screens/settings';
import { TrendsScreen } from './screens/trends';
import { useStore } from './store';

const PUBLIC_PATHS = new Set(['/login', '/signup', '/verify']);

/** Unacknowledged notifications (at most 200 counted), again whenever one arrives live. */
function useUnread(signedIn: boolean): [number, () => void] {
  const live = useStore(liveNotifications);
  const [count, setCount] = useState(0);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!signedIn) return;
    const timer = setTimeout(() => {
      inbox.list({ unacked: true, limit: 200 }).then((r) => setCount(r.items.length), () => undefined);
    }, 300);
    return () => clearTimeout(timer);
  }, [signedIn, live.length, tick]);
  return [count, () => setTick((n) => n + 1)];
}

function Nav({ me, unread }: { me: UserProfile; unread: number }): JSX.Element {
  const t = useT();
  const { path } = useRoute();
  const item = (to: string, label: string, extra?: JSX.Element) => (
    <li>
      <Link to={to} aria-current={(to === '/' ? path === '/' || path.startsWith('/diary') : path.startsWith(to)) ? 'page' : undefined}>
        {label}
        {extra}
      </Link>
    </li>
  );
  return (
    <nav aria-label={t('nav.main')}>
      <ul>
        {item('/', t('nav.diary'))}
        {item('/trends', t('nav.trends'))}
        {item('/reports', t('nav.reports'))}
        {item(
          '/inbox',
          t('nav.inbox'),
          unread > 0 ? (
            <span class="count" data-unread={unread} aria-label={t('nav.unread', { count: unread })}>
              {unread >= 200 ? '199+' : unread}
            </span>
          ) : undefined,
        )}
        {item('/settings', t('nav.settings'))}
        {me.role === 'ADMIN' && item('/admin', t('nav.admin'))}
      </ul>
    </nav>
  );
}

function LanguageSwitch(): JSX.Element {
  const t = useT();
  const lang = useStore(language);
  return (
    <label class="lang">
      <span class="sr-only">{t('lang.label')}</span>
      <select value={lang} onChange={(e) => language.set(e.currentTarget.value as Language)}>
        {LANGUAGES.map((l) => (
          <option key={l} value={l}>
            {l === 'en' ? 'English' : '한국어'}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The signed-in user: profile, language setting, live connection. */
function useSignedIn(): { me: UserProfile | null; error: unknown } {
  const current = useStore(session);
  const [me, setMe] = useState<UserProfile | null>(null);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (!current) return setMe(null);
    let alive = true;
    fetchMe().then(
      (profile) => {
        if (!alive) return;
        setMe(profile);
        connectRealtime(profile.id);
      },
      (err: unknown) => alive && setError(err),
    );
    settings.list().then(
      ({ items }) => {
        const value = items.find((s) => s.key === 'language')?.value;
        if (alive && (value === 'en' || value === 'ko')) language.set(value);
      },
      () => undefined,
    );
    return () => {
      alive = false;
    };
  }, [current?.sessionId]);
  return { me, error };
}

export function App(): JSX.Element {
  const t = useT();
  const { path } = useRoute();
  const current = useStore(session);
  const oauth = useOAuthLanding();
  const { me, error } = useSignedIn();
  const [unread, refreshUnread] = useUnread(Boolean(me));
  const diaryScreen = useDiaryRoute();

  useEffect(() => {
    if (!current && !PUBLIC_PATHS.has(path) && !location.hash.includes('code=')) navigate('/login', { replace: true });
    if (current && PUBLIC_PATHS.has(path)) navigate('/', { replace: true });
  }, [Boolean(current), path]);

  let screen: JSX.Element | null;
  if (!current || !me) {
    screen = path === '/signup' ? <SignupScreen /> : path === '/verify' ? <VerifyScreen /> : current ? <p aria-busy="true">{t('app.loading')}</p> : <LoginScreen />;
  } else if (path === '/') screen = <DiaryListScreen />;
  else if (diaryScreen) screen = diaryScreen;
  else if (path === '/trends') screen = <TrendsScreen />;
  else if (path === '/reports') screen = <ReportsScreen />;
  else if (path === '/inbox') screen = <InboxScreen onAcked={refreshUnread} />;
  else if (path === '/settings') screen = <SettingsScreen me={me} />;
  else if (path === '/admin') screen = <AdminScreen isAdmin={me.role === 'ADMIN'} />;
  else screen = <p>404</p>;

  return (
    <>
      <a class="skip" href="#main">
        {t('app.skip')}
      </a>
      <header class="top">
        <Link to="/" class="brand">
          {t('app.name')}
        </Link>
        {me && <Nav me={me} unread={unread} />}
        <div class="top-right">
          {me && <ConnectionIndicator />}
          <LanguageSwitch />
        </div>
      </header>
      <main id="main">
        {oauth.error && <p class="notice" role="alert">{t('auth.oauthFailed', { code: oauth.error })}</p>}
        {error !== undefined && <ErrorBox error={error} />}
        {screen}
      </main>
      {me && <AnnouncementDialog />}
    </>
  );
}
