import type { ComponentChildren, JSX } from 'preact';
import { createStore, useStore } from './store';

/** Where the app is served (the API's web routes and Vite's `base` agree on it). */
export const BASE = '/app';

function current(): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
  return path.replace(/\/+$/, '') || '/';
}

/** The app path below /app ("/", "/diary/12", ...), with the query string apart. */
export const route = createStore<{ path: string; query: URLSearchParams }>({ path: current(), query: new URLSearchParams(location.search) });

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = BASE + (to === '/' ? '/' : to);
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  const [path, search = ''] = to.split('?');
  route.set({ path: path || '/', query: new URLSearchParams(search) });
  // A new screen starts at its top, and its heading takes the focus (screen readers announce it).
  window.scrollTo(0, 0);
  queueMicrotask(() => document.querySelector<HTMLElement>('main h1')?.focus());
}

window.addEventListener('popstate', () => route.set({ path: current(), query: new URLSearchParams(location.search) }));

export function useRoute() {
  return useStore(route);
}

/** An in-app link: a real <a href> (open in a new tab works), navigated without a reload. */
export function Link(props: { to: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' }): JSX.Element {
  const { to, children, ...rest } = props;
  return (
    <a
      {...rest}
      href={BASE + (to === '/' ? '/' : to)}
      onClick={(e) => {
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

/** `/diary/:id` against a path: the parameters, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const a = path.split('/');
  if (p.length !== a.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i]!.startsWith(':')) params[p[i]!.slice(1)] = decodeURIComponent(a[i]!);
    else if (p[i] !== a[i]) return null;
  }
  return params;
}
