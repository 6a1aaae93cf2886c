import { refreshSession, session } from './session';
import type { Problem } from './types';

/** A refused or failed request: the problem the API answered, or `status: 0` when it could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problem?: Problem,
  ) {
    super(message);
  }
  /** Field problems by path without the `body.`/`query.` prefix. */
  fieldErrors(): Record<string, string> {
    return Object.fromEntries((this.problem?.errors ?? []).map((e) => [e.path.replace(/^(body|query|params)\./, ''), e.message]));
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const s = search.toString();
  return s ? `?${s}` : '';
}

async function send(method: Method, path: string, body: unknown, token: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    return await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached');
  }
}

/**
 * One REST call. Authenticated calls that answer 401 refresh the session once (shared with the
 * other tabs, see session.ts) and are sent again with the new token.
 */
export async function api<T>(method: Method, path: string, options: { body?: unknown; query?: Parameters<typeof query>[0]; auth?: boolean } = {}): Promise<T> {
  const url = path + (options.query ? query(options.query) : '');
  const auth = options.auth ?? true;
  const token = auth ? session.get()?.accessToken : undefined;
  let res = await send(method, url, options.body, token);
  if (res.status === 401 && auth && token) {
    const next = await refreshSession(token).catch(() => null);
    if (next) res = await send(method, url, options.body, next.accessToken);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const data: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const problem = data as Problem | undefined;
    throw new ApiError(res.status, problem?.code ?? 'error', problem?.detail ?? problem?.title ?? `HTTP ${res.status}`, problem);
  }
  return data as T;
}
