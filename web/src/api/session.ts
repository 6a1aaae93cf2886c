import { createStore } from '../store';
import type { TokenPair } from './types';

/**
 * The signed-in session, shared by every tab of this browser.
 *
 * The API answers tokens in JSON (no cookie mode), so they live in localStorage, which all tabs
 * of the origin share; a BroadcastChannel tells the other tabs when they change. Access tokens
 * last 15 minutes and refresh tokens rotate on every use: one tab at a time refreshes, under a
 * Web Lock, and a tab that waited for the lock first looks whether another tab already did it.
 * The API's grace window (a token presented twice within 10 s gets the same new token) covers
 * browsers without Web Locks and a refresh racing a tab that is just opening.
 */
export interface Session {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  /** Local clock, from `expiresIn`: immune to skew between this device and the server. */
  accessExpiresAt: number;
  /** The access token's lifetime (`expiresIn`), for the refresh margin. */
  accessTtlMs?: number;
  refreshExpiresAt: string;
}

const STORAGE_KEY = 'ed.session';
const LOCK_NAME = 'ed.session.refresh';
/**
 * Refresh this long before the access token expires: a minute, or a quarter of the token's
 * lifetime when that is shorter (a deployment with 2-minute tokens must not refresh in a loop).
 */
const refreshMargin = (s: Session) => Math.min(60_000, (s.accessTtlMs ?? 900_000) / 4);

type Message = { type: 'changed' } | { type: 'ended'; reason: EndReason };
export type EndReason = 'logout' | 'expired' | 'revoked';

const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('ed.session') : null;

function read(): Session | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export const session = createStore<Session | null>(read());
/** Why the last session ended (shown on the login screen), or null. */
export const sessionEnded = createStore<EndReason | null>(null);

function adopt(next: Session | null): void {
  const current = session.get();
  if (current?.accessToken === next?.accessToken) return;
  session.set(next);
  schedule();
}

export function fromTokenPair(pair: TokenPair): Session {
  return {
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    sessionId: pair.sessionId,
    accessExpiresAt: Date.now() + pair.expiresIn * 1000,
    accessTtlMs: pair.expiresIn * 1000,
    refreshExpiresAt: pair.refreshExpiresAt,
  };
}

/** A new session (login, OAuth exchange) or new tokens: stored, announced to the other tabs. */
export function storeSession(next: Session): void {
  localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  sessionEnded.set(null);
  adopt(next);
  channel?.postMessage({ type: 'changed' } satisfies Message);
}

/** Ends the session in every tab (the API call, if any, is the caller's). */
export function endSession(reason: EndReason): void {
  localStorage.removeItem(STORAGE_KEY);
  sessionEnded.set(reason === 'logout' ? null : reason);
  adopt(null);
  channel?.postMessage({ type: 'ended', reason } satisfies Message);
}

channel?.addEventListener('message', (event: MessageEvent<Message>) => {
  if (event.data.type === 'ended') sessionEnded.set(event.data.reason === 'logout' ? null : event.data.reason);
  adopt(read());
});
// Browsers without BroadcastChannel still get storage events from the other tabs.
window.addEventListener('storage', (event) => {
  if (event.key === STORAGE_KEY) adopt(read());
});

let inFlight: Promise<Session | null> | null = null;

/**
 * New tokens for the session. `rejected` is the access token the API just refused: when the
 * stored one differs, another tab has refreshed already and that one is used. Concurrent calls
 * in one tab share one request; across tabs the Web Lock makes them take turns.
 */
export function refreshSession(rejected?: string): Promise<Session | null> {
  inFlight ??= withLock(async () => {
    const current = read();
    if (!current) {
      adopt(null);
      return null;
    }
    const stillFresh = current.accessExpiresAt - Date.now() > refreshMargin(current);
    if (stillFresh && current.accessToken !== rejected) {
      adopt(current);
      return current;
    }
    const res = await fetch('/api/v1/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: current.refreshToken }),
    });
    if (res.ok) {
      const next = fromTokenPair((await res.json()) as TokenPair);
      storeSession(next);
      return next;
    }
    // 401/403: the refresh token is spent, expired or revoked; the session is over everywhere.
    if (res.status === 401 || res.status === 403) {
      endSession('expired');
      return null;
    }
    throw new Error(`refresh failed with HTTP ${res.status}`);
  }).finally(() => {
    inFlight = null;
  });
  return inFlight;
}

function withLock<T>(work: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  return locks ? (locks.request(LOCK_NAME, work) as Promise<T>) : work();
}

let timer: ReturnType<typeof setTimeout> | undefined;

/** Silent refresh: a timer per tab, shortly before expiry (the lock makes one tab do it). */
function schedule(): void {
  clearTimeout(timer);
  const current = session.get();
  if (!current) return;
  // Jitter spreads the tabs so the first one usually refreshes before the others wake up.
  const due = current.accessExpiresAt - refreshMargin(current) - Date.now() + Math.random() * Math.min(5_000, refreshMargin(current) / 4);
  timer = setTimeout(() => {
    refreshSession().catch(() => {
      // Offline or the API is down: try again in a little while; the tokens are kept.
      timer = setTimeout(schedule, 10_000);
    });
  }, Math.max(0, due));
}

// A laptop waking up: timers may have slept through the expiry.
document.addEventListener('visibilitychange', () => {
  const current = session.get();
  if (document.visibilityState === 'visible' && current && current.accessExpiresAt - Date.now() < refreshMargin(current)) {
    refreshSession().catch(() => undefined);
  }
});

schedule();
