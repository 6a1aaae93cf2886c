import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 (no longer released) keeps every broker connection in a 1 ms timer loop for as
 * long as it is open: `RequestQueue.checkPendingRequests` always ends by scheduling itself again,
 * and when nothing is pending and no throttle is in force the delay it computes is negative, which
 * Node runs after 1 ms (kafkajs issues 1556 and 1704; the fixes, pull requests 1667 and 1768, were
 * never merged). Each of a process's connections (producer, consumers, their coordinators) then
 * wakes the event loop about a thousand times a second for nothing: CPU taken from every request,
 * delivery and analysis, most visible on an idle or lightly loaded instance.
 *
 * This replaces the method with the fixed one: with requests pending, a check comes when the
 * throttle ends or after the usual 10 ms, as before; with nothing pending and no throttle there is
 * nothing to check, and the next `push` (which checks when it cannot send at once) or answer
 * (`fulfillRequest` checks on its own) starts again.
 */
interface RequestQueueInternals {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's own interval for re-checking pending requests (src/network/requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
let installed = false;

export function stopIdleRequestQueueTimers(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueInternals };
  if (typeof RequestQueue.prototype.scheduleCheckPendingRequests !== 'function' || typeof RequestQueue.prototype.checkPendingRequests !== 'function') {
    throw new Error('kafkajs RequestQueue changed: scheduleCheckPendingRequests/checkPendingRequests missing');
  }
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals) {
    if (this.throttleCheckTimeoutId) return;
    let delay = this.throttledUntil - Date.now();
    if (this.pending.length > 0) delay = delay > 0 ? delay : CHECK_PENDING_REQUESTS_INTERVAL_MS;
    else if (delay <= 0) return;
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, delay);
  };
}
