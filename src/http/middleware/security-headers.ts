import type { Context, Middleware, Next } from 'koa';
import helmet from 'koa-helmet';

type HelmetOptions = Parameters<typeof helmet>[0];

/**
 * helmet's security headers, computed once. With static directives (no nonces, no functions)
 * helmet answers every request with the same headers, yet it rebuilds them per request through a
 * chain of a dozen callbacks and a promisified wrapper; here they are recorded from one dry run
 * of helmet itself and copied onto each response. Headers helmet removes are removed too.
 */
export function securityHeaders(options: HelmetOptions): Middleware {
  const set: Array<[string, string]> = [];
  const removed: string[] = [];
  const res = {
    setHeader: (name: string, value: unknown) => void set.push([name, String(value)]),
    removeHeader: (name: string) => void removed.push(name),
    getHeader: () => undefined,
  };
  // helmet sets every header synchronously inside this call (koa-helmet only defers `next`); a
  // failure arrives through the promise and fails every request rather than dropping the headers.
  let failure: unknown;
  helmet(options)({ req: {}, res } as unknown as Context, async () => undefined).catch((err: unknown) => {
    failure = err;
  });
  return async function withSecurityHeaders(ctx: Context, next: Next): Promise<void> {
    if (failure !== undefined) throw failure;
    for (const [name, value] of set) ctx.res.setHeader(name, value);
    for (const name of removed) ctx.res.removeHeader(name);
    await next();
  };
}
