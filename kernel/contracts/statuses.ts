/** Where an entry's analysis stands (the diary row, the status events, the socket payloads). */
export const ANALYSIS_STATUSES = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'] as const;
export type AnalysisStatus = (typeof ANALYSIS_STATUSES)[number];

/** The statuses a status event can carry (PENDING is the row's state before the first one). */
export type AnalysisEventStatus = Exclude<AnalysisStatus, 'PENDING'>;

/** The overall emotional tone of an analysed entry. */
export const EMOTION_STATUSES = ['POSITIVE', 'NEGATIVE', 'NEUTRAL'] as const;
export type EmotionStatus = (typeof EMOTION_STATUSES)[number];

/** The cognitive distortions of CBT thought records: what the analyzers name and a person may correct. */
export const DISTORTIONS = [
  'all_or_nothing',
  'overgeneralization',
  'catastrophizing',
  'mind_reading',
  'fortune_telling',
  'should_statements',
  'labeling',
  'personalization',
  'emotional_reasoning',
  'discounting_positive',
] as const;
export type DistortionCategory = (typeof DISTORTIONS)[number];
