import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api/client';
import type { AnalysisStatus } from '../../kernel/contracts/statuses';
import { useT } from './i18n';
import { acknowledgeAnnouncement, connection, pendingAnnouncements, type ConnectionState } from './realtime';
import { useStore } from './store';

/** A screen: its heading takes the focus on navigation (router.tsx), so it is focusable. */
export function Screen(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }): JSX.Element {
  return (
    <section class="screen">
      <header class="screen-head">
        <h1 tabIndex={-1}>{props.title}</h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

/** Analysis status as a badge; `role=status` so a live change is announced to screen readers. */
export function StatusBadge({ status }: { status: AnalysisStatus }): JSX.Element {
  const t = useT();
  return (
    <span class={`badge status-${status.toLowerCase()}`} role="status" data-status={status}>
      {t(`status.${status}`)}
    </span>
  );
}

const CONNECTION_KEYS: Record<ConnectionState, 'conn.connected' | 'conn.connecting' | 'conn.reconnecting' | 'conn.catchingUp' | 'conn.offline'> = {
  live: 'conn.connected',
  connecting: 'conn.connecting',
  reconnecting: 'conn.reconnecting',
  catchingUp: 'conn.catchingUp',
  offline: 'conn.offline',
};

export function ConnectionIndicator(): JSX.Element {
  const t = useT();
  const state = useStore(connection);
  const label = t(CONNECTION_KEYS[state]);
  return (
    <span class={`conn conn-${state}`} data-connection={state} title={t('conn.title', { state: label })} aria-live="polite">
      <span class="dot" aria-hidden="true" />
      {label}
    </span>
  );
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }): JSX.Element {
  const t = useT();
  const message = error instanceof ApiError ? (error.status === 0 ? t('app.offline') : error.message) : String(error);
  return (
    <div class="error" role="alert">
      <p>{t('app.error', { message })}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t('app.retry')}
        </button>
      )}
    </div>
  );
}

/** A labelled form field; the error is tied to the input for assistive technology. */
export function Field(props: { id: string; label: string; hint?: string; error?: string; children: (aria: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => JSX.Element }): JSX.Element {
  const describedBy = [props.hint && `${props.id}-hint`, props.error && `${props.id}-error`].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children({ id: props.id, 'aria-describedby': describedBy, 'aria-invalid': props.error ? true : undefined })}
      {props.hint && (
        <small id={`${props.id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      {props.error && (
        <small id={`${props.id}-error`} class="field-error">
          {props.error}
        </small>
      )}
    </div>
  );
}

/** Loads with `load` whenever `deps` change; `reload` runs it again. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; loading: boolean; reload: () => void; setData: (d: T) => void } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => alive && setState({ data, error: undefined, loading: false }),
      (error: unknown) => alive && setState((s) => ({ ...s, error, loading: false })),
    );
    return () => {
      alive = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((n) => n + 1), setData: (data) => setState({ data, error: undefined, loading: false }) };
}

/** The oldest announcement not yet acknowledged, as a modal dialog (native <dialog>: focus is trapped and Esc closes). */
export function AnnouncementDialog(): JSX.Element | null {
  const t = useT();
  const pending = useStore(pendingAnnouncements);
  const ref = useRef<HTMLDialogElement>(null);
  const first = pending[0];
  useEffect(() => {
    const dialog = ref.current;
    if (first && dialog && !dialog.open) dialog.showModal();
  }, [first?.id]);
  if (!first) return null;
  const ok = () => {
    ref.current?.close();
    void acknowledgeAnnouncement(first.id);
  };
  return (
    <dialog ref={ref} class="announcement" aria-labelledby="ann-title" onCancel={(e) => (e.preventDefault(), ok())}>
      <p class="eyebrow">{t('ann.title')}</p>
      <h2 id="ann-title">{first.title}</h2>
      <p class="ann-body">{first.body}</p>
      <button type="button" class="primary" onClick={ok} autofocus>
        {t('ann.ok')}
      </button>
    </dialog>
  );
}
