import { Cluster } from 'ioredis';
import { waitUntil } from '../../kernel/wait.js';
import { roamingDevice, type Cluster as AppCluster, type RoamingDevice } from './cluster.js';
import { connectDevice } from './socket-client.js';

/** What a Redis primary kill did to the people using the app. */
export interface PrimaryKillFigures {
  users: number;
  devices: number;
  /** Status notifications the app stored for the users (2 per entry: PROCESSING and COMPLETED). */
  sent: number;
  /** (device, notification) pairs never received. */
  lost: number;
  missing: string[];
  /** Envelopes a device received again (the app redelivers until acked; clients deduplicate by id). */
  duplicates: number;
  /** Kill → first successful command issued after it on the killed slots. */
  redisRecoveryMs: number;
  /** Kill → first notification created after the kill received by a device. */
  deliveryRecoveryMs: number;
  /** Entries whose write had to be retried (an answer ≥ 500 or no answer while the slots had no primary). */
  writeRetries: number;
  refreshes: { ok: number; failed: number };
  /** Refreshes answered 401/403: a user logged out. */
  loggedOut: number;
  /** Users that refreshed, read /users/me and connected a socket with the new token after the failover. */
  finalChecks: number;
  promoted: boolean;
  socketsDisconnected: number;
  summary: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Users with two devices each (on different API instances) and a refresh loop each, a stream of
 * diary entries (each gives two status notifications), and, part-way through, a SIGKILL of the
 * Redis primary serving the adapter's channel (`<prefix>socket.io#/#`, which carries every
 * cross-instance delivery) and the keys of some of the users (their `{u:<id>}` tag is picked to
 * hash there). Measures what reached every device, and whether anyone was logged out.
 */
export async function runRedisPrimaryKill(cluster: AppCluster, options: { diaries: number; writeIntervalMs: number; killAfterWrites: number }): Promise<PrimaryKillFigures> {
  const rc = cluster.redisCluster;
  if (!rc) throw new Error('the cluster does not run on a Redis Cluster');
  const urls = cluster.apis.map((a) => a.url);
  const channel = `${cluster.config.redis.keyPrefix}socket.io#/#`;
  const victim = await rc.primaryOf(await rc.slotOf(channel));
  const victimSlots = (slot: number) => victim.slots.some(([a, b]) => slot >= a && slot <= b);

  // Two users whose keys live on the victim and one elsewhere (slots are spread evenly: bounded search).
  const users: Array<{ userId: string; accessToken: string; refreshToken: string; onVictim: boolean }> = [];
  for (let i = 0; i < 60 && (users.filter((u) => u.onVictim).length < 2 || users.filter((u) => !u.onVictim).length < 1); i++) {
    const row = await cluster.users.sql.User.create({ email: `rk_${Date.now()}_${i}@example.test`, username: `rk_${Date.now().toString(36)}_${i}`, passwordHash: null, nickname: 'Failover', role: 'USER', status: 'ACTIVE' });
    const userId = String(row.id);
    const onVictim = victimSlots(await rc.slotOf(`{u:${userId}}`));
    if (onVictim ? users.filter((u) => u.onVictim).length >= 2 : users.filter((u) => !u.onVictim).length >= 1) continue;
    const { family, refreshToken } = await cluster.users.refreshTokens.create(userId, 'password', Date.now());
    const { accessToken } = cluster.users.accessTokens.issue({ userId, role: 'USER', sessionId: family.sessionId });
    users.push({ userId, accessToken, refreshToken, onVictim });
  }
  const devices = new Map<string, RoamingDevice[]>();
  for (const [i, u] of users.entries()) devices.set(u.userId, [await roamingDevice(urls, u.accessToken, i % urls.length), await roamingDevice(urls, u.accessToken, (i + 1) % urls.length)]);

  // A probe of the killed slots: sequential SETs, each recorded with when it was issued and settled.
  const probe = new Cluster(rc.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })), { slotsRefreshInterval: 1_000, retryDelayOnClusterDown: 100, retryDelayOnFailover: 100, redisOptions: { maxRetriesPerRequest: 1 } });
  probe.on('error', () => undefined);
  const probes: Array<{ issued: number; settled: number; ok: boolean }> = [];
  let running = true;
  const probing = (async () => {
    while (running) {
      const issued = Date.now();
      const ok = await probe.set(`{${channel}}:probe`, String(issued)).then(() => true, () => false);
      probes.push({ issued, settled: Date.now(), ok });
      await sleep(50);
    }
  })();

  // Refresh loops: a 401/403 means the user was logged out; anything else failing is retried.
  const refreshes = { ok: 0, failed: 0 };
  let loggedOut = 0;
  const refreshOnce = async (u: (typeof users)[number]): Promise<boolean> => {
    const res = await fetch(`${urls[0]}/api/v1/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: u.refreshToken }) }).catch(() => undefined);
    if (res?.status === 200) {
      const body = (await res.json()) as { accessToken: string; refreshToken: string };
      u.refreshToken = body.refreshToken;
      u.accessToken = body.accessToken;
      refreshes.ok++;
      return true;
    }
    if (res?.status === 401 || res?.status === 403) loggedOut++;
    refreshes.failed++;
    return false;
  };
  const refreshing = Promise.all(
    users.map(async (u, i) => {
      await sleep(i * 150);
      while (running) {
        await refreshOnce(u);
        await sleep(400);
      }
    }),
  );

  // The stream of entries, round-robin over users and instances; a write that fails is retried.
  const written: Array<{ userId: string; diaryId: string }> = [];
  let writeRetries = 0;
  let killedAt = 0;
  for (let k = 0; k < options.diaries; k++) {
    if (k === options.killAfterWrites) {
      killedAt = Date.now();
      await rc.kill(victim.port);
    }
    const u = users[k % users.length]!;
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${urls[k % urls.length]}/api/v1/diaries`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${u.accessToken}` },
        body: JSON.stringify({ content: `Entry ${k}: a rough start, then a walk with a friend helped.` }),
      }).catch(() => undefined);
      if (res?.status === 201) {
        written.push({ userId: u.userId, diaryId: ((await res.json()) as { id: string }).id });
        break;
      }
      if (attempt >= 60) throw new Error(`entry ${k} could not be written: ${res?.status ?? 'no answer'} ${(await res?.text()) ?? ''}`);
      writeRetries++;
      await sleep(250);
    }
    await sleep(options.writeIntervalMs);
  }

  const expected = (userId: string) => written.filter((w) => w.userId === userId).flatMap((w) => ['PROCESSING', 'COMPLETED'].map((s) => `${w.diaryId}:${s}`));
  const got = (d: RoamingDevice) => new Set(d.notifications.map((n) => `${String(n.payload.diaryId)}:${String(n.payload.status)}`));
  const missing = () => [...devices].flatMap(([userId, ds]) => ds.flatMap((d, i) => expected(userId).filter((k) => !got(d).has(k)).map((k) => `${userId}/${i}:${k}`)));
  await waitUntil('every device has every notification', async () => missing().length === 0 || undefined, 90_000).catch(() => undefined);
  running = false;
  await Promise.all([probing, refreshing]);
  probe.disconnect();

  const topology = await rc.topology();
  const promoted = topology.some((n) => n.role === 'primary' && n.slots.some(([a, b]) => victim.slots.some(([c, d]) => a <= d && c <= b)) && n.port !== victim.port);
  const afterKill = probes.filter((p) => p.ok && p.issued >= killedAt);
  const redisRecoveryMs = afterKill.length > 0 ? Math.min(...afterKill.map((p) => p.settled)) - killedAt : -1;
  const deliveredAfter = [...devices.values()].flat().flatMap((d) => d.notifications.map((n, i) => ({ created: Date.parse(n.createdAt), at: d.receivedAtMs[i]! })).filter((x) => x.created > killedAt));
  const deliveryRecoveryMs = deliveredAfter.length > 0 ? Math.min(...deliveredAfter.map((x) => x.at)) - killedAt : -1;
  const all = [...devices.values()].flat();
  const socketsDisconnected = all.reduce((n, d) => n + d.connections.length - 1, 0);
  const lost = missing().length;
  const duplicates = all.reduce((n, d) => n + d.received - d.notifications.length, 0);
  for (const d of all) d.close();

  // After the failover every user still refreshes, reads their profile and connects a socket.
  let finalChecks = 0;
  for (const u of users) {
    if (!(await refreshOnce(u))) continue;
    const me = await fetch(`${urls[1]}/api/v1/users/me`, { headers: { authorization: `Bearer ${u.accessToken}` } });
    const device = await connectDevice(urls[2]!, u.accessToken).catch(() => undefined);
    if (me.status === 200 && device) finalChecks++;
    device?.close();
  }

  // The killed node comes back as a replica of the promoted one, so later tests have a full cluster.
  await rc.restart(victim.port);
  await rc.waitHealthy();

  const sent = written.length * 2;
  const figures = {
    users: users.length,
    devices: all.length,
    sent,
    lost,
    missing: missing(),
    duplicates,
    redisRecoveryMs,
    deliveryRecoveryMs,
    writeRetries,
    refreshes,
    loggedOut,
    finalChecks,
    promoted,
    socketsDisconnected,
  };
  const summary =
    `redis primary kill (127.0.0.1:${victim.port}, slots ${victim.slots.map(([a, b]) => `${a}-${b}`).join(',')}): ${sent} notifications to ${all.length} devices of ${users.length} users ` +
    `(${sent * 2} deliveries), lost ${lost}, duplicates ${duplicates}; first command on the killed slots after ${redisRecoveryMs} ms, ` +
    `first delivery of a notification created after the kill ${deliveryRecoveryMs} ms; ${writeRetries} write retries; ` +
    `refreshes ${refreshes.ok} ok / ${refreshes.failed} failed / ${loggedOut} logged out; sockets dropped ${socketsDisconnected}`;
  return { ...figures, summary };
}
