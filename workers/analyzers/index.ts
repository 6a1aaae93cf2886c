import type { AppConfig } from '../../config/index.js';
import type { Analyzer } from './analyzer.js';
import { createEmbeddingAnalyzer } from './embedding/embedding-analyzer.js';
import { createEmbeddingClient } from './embedding/embedding-client.js';
import { loadShippedHeads } from './embedding/heads.js';
import { createLlmAnalyzer, type LlmOutcome, type WarnLogger } from './llm/llm-analyzer.js';
import { availableParallelism } from 'node:os';
import { createOfflineAnalyzer } from './offline/offline-analyzer.js';
import { createOfflineAnalyzerPool } from './offline/offline-pool.js';

export * from './analyzer.js';
export { createLlmAnalyzer, LLM_ANALYZER_VERSION, type LlmAnalyzerConfig, type LlmAnalyzerDeps, type LlmOutcome } from './llm/llm-analyzer.js';
export { analyzeOffline, createOfflineAnalyzer, OFFLINE_ANALYZER_VERSION } from './offline/offline-analyzer.js';
export { createOfflineAnalyzerPool, type OfflineAnalyzerPool } from './offline/offline-pool.js';
export { createEmbeddingAnalyzer, EMBEDDING_ANALYZER_VERSION } from './embedding/embedding-analyzer.js';
export { createEmbeddingClient, type EmbeddingClient, type EmbeddingClientConfig } from './embedding/embedding-client.js';
export { loadShippedHeads } from './embedding/heads.js';

export interface AnalyzerDeps {
  log?: WarnLogger;
  /** Counts LLM outcomes, e.g. `(o) => metrics.llmRequestsTotal.inc({ outcome: o })`. */
  onLlmOutcome?: (outcome: LlmOutcome) => void;
  /** Counts embedding analyses answered by the sidecar ('ok') or by the rules ('fallback'). */
  onEmbeddingOutcome?: (outcome: 'ok' | 'fallback') => void;
  /** An offline analyzer thread died (it is replaced). */
  onThreadError?: (err: Error) => void;
}

/** The offline analyzer's threads: `analyzerThreads`, 'auto' being one fewer than the cores (at least 1). */
export function offlineThreads(setting: AppConfig['worker']['analyzerThreads']): number {
  return setting === 'auto' ? Math.max(1, availableParallelism() - 1) : setting;
}

/** Whether the configured analyzer needs the embedding sidecar. */
export function needsEmbeddingSidecar(analyzer: string): boolean {
  return analyzer === 'embedding' || analyzer === 'ensemble';
}

/**
 * The analyzer the worker uses: the offline one, or one that falls back to it (the LLM one, or an
 * embedding one over the sidecar with the heads committed in embedding/data/heads.json).
 */
export function createAnalyzer(config: AppConfig['worker'], deps: AnalyzerDeps = {}): Analyzer {
  const offline = createOfflineAnalyzer();
  switch (config.analyzer) {
    case 'offline': {
      const threads = offlineThreads(config.analyzerThreads);
      return threads > 0 ? createOfflineAnalyzerPool({ threads, onThreadError: deps.onThreadError }) : offline;
    }
    case 'llm':
      return createLlmAnalyzer(config.llm, { fallback: offline, log: deps.log, onOutcome: deps.onLlmOutcome });
    case 'embedding':
    case 'ensemble': {
      const heads = loadShippedHeads();
      const client = createEmbeddingClient({ baseUrl: config.embedding.url, ...config.embedding, model: heads.model, inputType: heads.inputType });
      return createEmbeddingAnalyzer({ client, heads, variant: config.analyzer, fallback: offline, log: deps.log, onOutcome: deps.onEmbeddingOutcome });
    }
  }
}
