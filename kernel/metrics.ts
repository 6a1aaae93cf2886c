import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the processes export, defined once on an injected registry. Names follow
 * Prometheus conventions; dashboards and alert rules in ops/ are checked against this list.
 */
export function createMetrics(registry: Registry = new Registry(), defaultLabels: Record<string, string> = {}) {
  registry.setDefaultLabels(defaultLabels);
  collectDefaultMetrics({ register: registry });
  const r = [registry];

  return {
    registry,

    // HTTP
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route template and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),

    // Socket.IO
    socketsConnected: new Gauge({
      name: 'socketio_connected_sockets',
      help: 'Sockets currently connected to this instance, by namespace',
      labelNames: ['namespace'] as const,
      registers: r,
    }),
    socketConnectionsTotal: new Counter({
      name: 'socketio_connections_total',
      help: 'Socket connections accepted',
      labelNames: ['namespace'] as const,
      registers: r,
    }),
    socketDisconnectsTotal: new Counter({
      name: 'socketio_disconnects_total',
      help: 'Socket disconnections by reason',
      labelNames: ['namespace', 'reason'] as const,
      registers: r,
    }),
    socketConnectErrorsTotal: new Counter({
      name: 'socketio_connect_errors_total',
      help: 'Handshakes refused, by reason',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    socketEventsReceivedTotal: new Counter({
      name: 'socketio_events_received_total',
      help: 'Events received from clients, by event and outcome (ok, invalid, unknown, rate_limited, error)',
      labelNames: ['event', 'outcome'] as const,
      registers: r,
    }),
    notificationsEmittedTotal: new Counter({
      name: 'notifications_emitted_total',
      help: 'Notifications emitted to sockets, by kind (live, replay, redelivery)',
      labelNames: ['kind'] as const,
      registers: r,
    }),
    notificationsAckedTotal: new Counter({
      name: 'notifications_acked_total',
      help: 'Notifications acknowledged by clients',
      registers: r,
    }),
    notificationsStoredTotal: new Counter({
      name: 'notifications_stored_total',
      help: 'Notifications written to inboxes, by type',
      labelNames: ['type'] as const,
      registers: r,
    }),

    // MariaDB replica (kernel/replica-reads.ts)
    mariadbStaleReadsTotal: new Counter({
      name: 'mariadb_stale_tolerant_reads_total',
      help:
        'Reads that may be served by the replica, by where they ran (replica, primary: no replica configured, fallback: the primary ' +
        'instead of the replica) and why (no_recent_write, caught_up, no_replica, behind_writer, replica_down, replica_lagging, ' +
        'replica_not_replicating, replica_unknown, replica_busy, replica_error, session_unknown)',
      labelNames: ['target', 'reason'] as const,
      registers: r,
    }),
    mariadbWritePositionsTotal: new Counter({
      name: 'mariadb_write_positions_total',
      help: "Primary positions remembered after a user's write for their later reads, by outcome (recorded, failed)",
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    mariadbReplicaUsable: new Gauge({
      name: 'mariadb_replica_usable',
      help: 'Whether the last probe found the replica replicating within the lag bound (1) or not (0)',
      registers: r,
    }),
    mariadbReplicaLag: new Gauge({
      name: 'mariadb_replica_lag_seconds',
      help: "The replica's Seconds_Behind_Master at the last probe (NaN when unknown)",
      registers: r,
    }),

    // Outbox and pipeline
    outboxBacklog: new Gauge({
      name: 'outbox_backlog_events',
      help: 'Outbox rows not yet published to Kafka',
      registers: r,
    }),
    outboxOldestPendingAge: new Gauge({
      name: 'outbox_oldest_pending_age_seconds',
      help: 'Age of the oldest unpublished outbox row',
      registers: r,
    }),
    outboxPublishedTotal: new Counter({
      name: 'outbox_published_total',
      help: 'Outbox rows published to Kafka',
      registers: r,
    }),
    outboxPublishFailuresTotal: new Counter({
      name: 'outbox_publish_failures_total',
      help: 'Failed outbox publish batches',
      registers: r,
    }),
    kafkaConsumerLag: new Gauge({
      name: 'kafka_consumer_lag_messages',
      help: 'Messages behind the high watermark, by consumer group, topic and partition',
      labelNames: ['group', 'topic', 'partition'] as const,
      registers: r,
    }),
    kafkaMessagesConsumedTotal: new Counter({
      name: 'kafka_messages_consumed_total',
      help: 'Kafka messages handled, by consumer group and outcome',
      labelNames: ['group', 'outcome'] as const,
      registers: r,
    }),
    analysisEndToEndLatency: new Histogram({
      name: 'analysis_end_to_end_seconds',
      help: 'Time from the analysis request to its final status reaching the gateway',
      labelNames: ['status'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: r,
    }),

    // Worker
    workerProcessedTotal: new Counter({
      name: 'worker_analyses_processed_total',
      help: 'Analysis requests finished, by outcome (completed, failed, skipped_stale, duplicate)',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    workerRetriesTotal: new Counter({
      name: 'worker_analysis_retries_total',
      help: 'Retried analysis attempts',
      registers: r,
    }),
    workerDlqTotal: new Counter({
      name: 'worker_dlq_messages_total',
      help: 'Messages sent to the dead-letter topic, by reason',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    workerAnalysisDuration: new Histogram({
      name: 'worker_analysis_duration_seconds',
      help: 'Time spent analysing one entry, by analyzer',
      labelNames: ['analyzer'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
      registers: r,
    }),
    workerInFlight: new Gauge({
      name: 'worker_in_flight_analyses',
      help: 'Analyses in progress on this worker',
      registers: r,
    }),
    llmRequestsTotal: new Counter({
      name: 'llm_requests_total',
      help: 'Requests to the LLM endpoint, by outcome (ok, retry, invalid_output, timeout, error, fallback)',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    embeddingAnalysesTotal: new Counter({
      name: 'embedding_analyses_total',
      help: 'Analyses of the embedding analyzers, by who answered (ok: the sidecar and the heads, fallback: the rules)',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
