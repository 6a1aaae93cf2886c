import type { JSX, TargetedEvent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { auth } from '../api/endpoints';
import { fromTokenPair, sessionEnded, storeSession } from '../api/session';
import { ErrorBox, Field, Screen, useAsync } from '../components';
import { useT } from '../i18n';
import { Link, navigate, useRoute } from '../router';
import { useStore } from '../store';

const PROVIDER_NAMES: Record<string, string> = { google: 'Google', kakao: 'Kakao', naver: 'Naver' };

function OAuthButtons(): JSX.Element | null {
  const t = useT();
  const { data } = useAsync(() => auth.providers(), []);
  if (!data?.providers.length) return null;
  return (
    <div class="oauth">
      <p class="or">{t('auth.or')}</p>
      {data.providers.map((p) => (
        <a key={p} class={`button oauth-${p}`} href={`/api/v1/auth/oauth/${p}`}>
          {t('auth.with', { provider: PROVIDER_NAMES[p] ?? p })}
        </a>
      ))}
    </div>
  );
}

export function LoginScreen(): JSX.Element {
  const t = useT();
  const { query } = useRoute();
  const ended = useStore(sessionEnded);
  const [identifier, setIdentifier] = useState(query.get('email') ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      storeSession(fromTokenPair(await auth.login({ identifier, password })));
      navigate('/', { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'email_not_verified') return navigate(`/verify?email=${encodeURIComponent(identifier)}`);
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Screen title={t('auth.login')}>
      {query.get('verified') && <p class="notice">{t('auth.verified')}</p>}
      {ended && <p class="notice">{t(ended === 'revoked' ? 'auth.revoked' : 'auth.expired')}</p>}
      <form class="card narrow" onSubmit={(e) => void submit(e)}>
        <Field id="identifier" label={t('auth.identifier')}>
          {(aria) => <input {...aria} name="identifier" autocomplete="username" required value={identifier} onInput={(e) => setIdentifier(e.currentTarget.value)} />}
        </Field>
        <Field id="password" label={t('auth.password')}>
          {(aria) => <input {...aria} name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
        </Field>
        {error !== undefined && <ErrorBox error={error} />}
        <button class="primary" type="submit" disabled={busy}>
          {t('auth.login')}
        </button>
        <OAuthButtons />
        <p>
          {t('auth.noAccount')} <Link to="/signup">{t('auth.signup')}</Link>
        </p>
      </form>
    </Screen>
  );
}

export function SignupScreen(): JSX.Element {
  const t = useT();
  const [form, setForm] = useState({ email: '', username: '', nickname: '', password: '' });
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const fields = error instanceof ApiError ? error.fieldErrors() : {};
  const set = (key: keyof typeof form) => (e: TargetedEvent<HTMLInputElement>) => setForm({ ...form, [key]: e.currentTarget.value });

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await auth.register(form);
      navigate(`/verify?email=${encodeURIComponent(form.email)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Screen title={t('auth.signup')}>
      <form class="card narrow" onSubmit={(e) => void submit(e)}>
        <Field id="email" label={t('auth.email')} error={fields.email}>
          {(aria) => <input {...aria} name="email" type="email" autocomplete="email" required value={form.email} onInput={set('email')} />}
        </Field>
        <Field id="username" label={t('auth.username')} hint={t('auth.usernameHint')} error={fields.username}>
          {(aria) => <input {...aria} name="username" autocomplete="username" required pattern="[A-Za-z0-9_.\-]{3,32}" value={form.username} onInput={set('username')} />}
        </Field>
        <Field id="nickname" label={t('auth.nickname')} error={fields.nickname}>
          {(aria) => <input {...aria} name="nickname" autocomplete="nickname" required maxLength={64} value={form.nickname} onInput={set('nickname')} />}
        </Field>
        <Field id="new-password" label={t('auth.password')} hint={t('auth.passwordHint')} error={fields.password}>
          {(aria) => <input {...aria} name="password" type="password" autocomplete="new-password" required minLength={10} value={form.password} onInput={set('password')} />}
        </Field>
        {error !== undefined && <ErrorBox error={error} />}
        <button class="primary" type="submit" disabled={busy}>
          {t('auth.signup')}
        </button>
        <OAuthButtons />
        <p>
          {t('auth.haveAccount')} <Link to="/login">{t('auth.login')}</Link>
        </p>
      </form>
    </Screen>
  );
}

export function VerifyScreen(): JSX.Element {
  const t = useT();
  const { query } = useRoute();
  const email = query.get('email') ?? '';
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>();
  const [resent, setResent] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    try {
      await auth.verifyEmail({ email, code: code.trim() });
      navigate(`/login?verified=1&email=${encodeURIComponent(email)}`, { replace: true });
    } catch (err) {
      setError(err);
    }
  }

  return (
    <Screen title={t('auth.verifyTitle')}>
      <form class="card narrow" onSubmit={(e) => void submit(e)}>
        <p>{t('auth.verifyText', { email })}</p>
        <Field id="code" label={t('auth.code')}>
          {(aria) => (
            <input {...aria} name="code" inputMode="numeric" autocomplete="one-time-code" pattern="\d{6}" maxLength={6} required value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          )}
        </Field>
        {error !== undefined && <ErrorBox error={error} />}
        <button class="primary" type="submit">
          {t('auth.verify')}
        </button>
        <button type="button" class="link" onClick={() => void auth.resendCode(email).then(() => setResent(true), setError)}>
          {t('auth.resend')}
        </button>
        {resent && <p role="status">{t('auth.resent')}</p>}
      </form>
    </Screen>
  );
}

/**
 * The OAuth callback lands on the app with `#code=<one-time code>` (or `#error=<code>`): the code
 * is traded for a token pair and removed from the address bar at once.
 */
export function useOAuthLanding(): { error: string | null } {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const params = new URLSearchParams(location.hash.slice(1));
    const code = params.get('code');
    const failed = params.get('error');
    if (!code && !failed) return;
    history.replaceState(null, '', location.pathname + location.search);
    if (failed) return setError(failed);
    auth.oauthExchange(code!).then(
      (pair) => {
        storeSession(fromTokenPair(pair));
        navigate('/', { replace: true });
      },
      (err: unknown) => setError(err instanceof ApiError ? err.code : 'exchange_failed'),
    );
  }, []);
  return { error };
}
