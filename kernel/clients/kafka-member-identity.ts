import { createRequire } from 'node:module';

/**
 * A kafkajs consumer that crashes and is restarted (by kafkajs after a retriable error, or by our
 * supervisor) gets a new consumer-group object with no member id, so it joins its group as a new
 * member. If it could not leave the group when it crashed (the broker was away: a Kafka restart,
 * a partition), the group still holds its old member, and the coordinator completes the rebalance
 * only once that member rejoins or its session times out. Every consumer of the group then waits
 * out the session timeout (6 s in the soak, 30 s by default) before consuming again: the chaos
 * soak measured the first delivery 6.7 s after a Kafka restart, the joins of both groups all
 * answered at the same instant, one session timeout after the broker was back.
 *
 * kafkajs (2.2.4, no longer released) has no static membership (KIP-345) to say "I am the same
 * member". This gives a restarted consumer its previous member id back: the group object's
 * `joinAndSync` (a public method of kafkajs's ConsumerGroup) starts from the member id the same
 * consumer last joined with. A coordinator that still knows the member lets it rejoin at once; one
 * that no longer does answers UNKNOWN_MEMBER_ID, on which kafkajs itself clears the id and joins
 * as a new member. A consumer that left its group (a graceful stop) starts afresh.
 *
 * Keyed by the consumer's cluster object, which kafkajs creates once per consumer and reuses
 * across restarts; two consumers never share one.
 */
interface ConsumerGroupInternals {
  cluster: object;
  groupId: string;
  memberId: string | null;
  joinAndSync(): Promise<void>;
  leave(): Promise<void>;
}

const lastMemberIds = new WeakMap<object, Map<string, string>>();
let installed = false;

export function rememberConsumerMemberIds(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as { prototype: ConsumerGroupInternals };
  const { joinAndSync, leave } = ConsumerGroup.prototype;
  if (typeof joinAndSync !== 'function' || typeof leave !== 'function') throw new Error('kafkajs ConsumerGroup changed: joinAndSync/leave missing');

  ConsumerGroup.prototype.joinAndSync = async function (this: ConsumerGroupInternals) {
    const known = lastMemberIds.get(this.cluster);
    if (!this.memberId) this.memberId = known?.get(this.groupId) ?? null;
    await joinAndSync.call(this);
    if (this.memberId) {
      const ids = known ?? new Map<string, string>();
      ids.set(this.groupId, this.memberId);
      lastMemberIds.set(this.cluster, ids);
    }
  };

  ConsumerGroup.prototype.leave = async function (this: ConsumerGroupInternals) {
    await leave.call(this);
    lastMemberIds.get(this.cluster)?.delete(this.groupId);
  };
}
