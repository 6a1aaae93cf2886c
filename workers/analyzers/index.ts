import type { AppConfig } from '../../config/index.js';
import type { Analyzer } from './analyzer.js';
import { createLlmAnalyzer, type LlmOutcome, type WarnLogger } from './llm/llm-analyzer.js';
import { createOfflineAnalyzer } from './offline/offline-analyzer.js';

export * from './analyzer.js';
export { createLlmAnalyzer, LLM_ANALYZER_VERSION, type LlmAnalyzerConfig, type LlmAnalyzerDeps, type LlmOutcome } from './llm/llm-analyzer.js';
export { analyzeOffline, createOfflineAnalyzer, OFFLINE_ANALYZER_VERSION } from './offline/offline-analyzer.js';

export interface AnalyzerDeps {
  log?: WarnLogger;
  /** Counts LLM outcomes, e.g. `(o) => metrics.llmRequestsTotal.inc({ outcome: o })`. */
  onLlmOutcome?: (outcome: LlmOutcome) => void;
}

/** The analyzer the worker uses: the offline one, or the LLM one falling back to the offline one. */
export function createAnalyzer(config: AppConfig['worker'], deps: AnalyzerDeps = {}): Analyzer {
  const offline = createOfflineAnalyzer();
  if (config.analyzer === 'offline') return offline;
  return createLlmAnalyzer(config.llm, { fallback: offline, log: deps.log, onOutcome: deps.onLlmOutcome });
}
