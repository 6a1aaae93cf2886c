import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { formatKraftNode, kraftFormatted, startKraftNode, waitForBrokers } from './kafka-node.js';
import { freePort } from './process.js';
import type { RestartableService } from './redis.js';

/**
 * A listener clients reach through a proxy: the broker listens on `port` and tells clients to
 * connect to `advertisedPort` (the proxy's), so every connection after the bootstrap one goes
 * through the proxy too.
 */
export interface ProxiedListener {
  port: number;
  advertisedPort: number;
}

/**
 * A single-node Kafka in KRaft mode (broker + controller), run from the jars provision.sh cached.
 * `proxiedListeners` (the chaos soak: one per client process) are only applied when the data dir
 * is new.
 */
export async function startKafka(
  dataDir: string,
  port: number,
  logDir: string,
  options: { proxiedListeners?: ProxiedListener[] } = {},
): Promise<RestartableService & { brokers: string[] }> {
  if (!kraftFormatted(dataDir)) {
    const controllerPort = await freePort();
    const proxied = (options.proxiedListeners ?? []).map((l, i) => ({ ...l, name: `PROXIED${i + 1}` }));
    await formatKraftNode(
      dataDir,
      {
        nodeId: 1,
        voters: [`1@127.0.0.1:${controllerPort}`],
        listeners: [{ name: 'PLAINTEXT', port }, { name: 'CONTROLLER', port: controllerPort }, ...proxied],
        replication: { factor: 1, minInSync: 1 },
      },
      randomUUID(),
    );
  }

  let stopCurrent: () => Promise<void> = async () => undefined;
  const brokers = [`127.0.0.1:${port}`];
  const start = async () => {
    const proc = startKraftNode('kafka', dataDir, path.join(logDir, 'kafka.log'), 768);
    stopCurrent = () => proc.stop(30_000);
    await waitForBrokers('kafka', brokers, 90_000, proc.child);
  };
  await start();
  return { name: 'kafka', port, url: brokers.join(','), brokers, start, stop: () => stopCurrent() };
}
