import type { IncomingMessage } from 'node:http';

/**
 * New Socket.IO connections one client address may open on an instance per window, counted in
 * engine.io's `allowRequest`, before any handshake work (no token check, no engine session). A
 * client that floods connections (the socket fuzzer opens hundreds a second) is refused at the
 * HTTP upgrade (engine.io answers 400 `Forbidden`), which costs the instance little; a phone on a
 * carrier NAT shares its address with others, so the budget is far above what one person's
 * devices open.
 */
export function createHandshakeBudget(options: { perWindow: number; windowMs: number; trustProxy: boolean; now?: () => number }) {
  const now = options.now ?? Date.now;
  let window = -1;
  let counts = new Map<string, number>();

  /** The client's address: behind a trusted proxy the left-most X-Forwarded-For entry (as Koa reads it). */
  function clientAddress(req: IncomingMessage): string {
    if (options.trustProxy) {
      const forwarded = req.headers['x-forwarded-for'];
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
      if (first) return first;
    }
    return req.socket.remoteAddress ?? 'unknown';
  }

  return {
    clientAddress,
    /** Counts one handshake of `req`'s client; false once its budget for this window is spent. */
    take(req: IncomingMessage): boolean {
      const current = Math.floor(now() / options.windowMs);
      if (current !== window) {
        window = current;
        counts = new Map();
      }
      const address = clientAddress(req);
      const used = (counts.get(address) ?? 0) + 1;
      counts.set(address, used);
      return used <= options.perWindow;
    },
  };
}
