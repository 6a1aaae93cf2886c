import type { DistortionCategory, EmotionName } from '../../../workers/analyzers/analyzer';
import type { Language } from './index';

/** Names and one-line explanations of the thinking traps the analyzers name (workers/analyzers/analyzer.ts). */
const DISTORTIONS: Record<Language, Record<DistortionCategory, [string, string]>> = {
  en: {
    all_or_nothing: ['All-or-nothing thinking', 'Seeing things in black and white: if it is not perfect, it is a failure.'],
    overgeneralization: ['Overgeneralization', 'One event becomes a never-ending pattern: "always", "never", "everyone".'],
    catastrophizing: ['Catastrophizing', 'Expecting the worst, and treating it as unbearable.'],
    mind_reading: ['Mind reading', 'Assuming you know what others think of you, without evidence.'],
    fortune_telling: ['Fortune telling', 'Predicting that things will turn out badly, as if it were a fact.'],
    should_statements: ['"Should" statements', 'Rigid rules for yourself or others: "I should", "they must".'],
    labeling: ['Labeling', 'Turning one mistake into an identity: "I am a loser".'],
    personalization: ['Personalization', 'Blaming yourself for things that are not (only) under your control.'],
    emotional_reasoning: ['Emotional reasoning', 'Taking a feeling as proof: "I feel stupid, so I am".'],
    discounting_positive: ['Discounting the positive', 'Good things "do not count", so the picture stays negative.'],
  },
  ko: {
    all_or_nothing: ['흑백 논리', '완벽하지 않으면 실패라고 보는, 모 아니면 도 식의 생각.'],
    overgeneralization: ['과잉 일반화', '한 번의 일을 "항상", "절대", "모두"처럼 끝없는 패턴으로 여기는 것.'],
    catastrophizing: ['파국화', '최악을 예상하고, 그것을 견딜 수 없다고 여기는 것.'],
    mind_reading: ['독심술', '근거 없이 남이 나를 어떻게 생각하는지 안다고 믿는 것.'],
    fortune_telling: ['점쟁이 오류', '일이 나쁘게 될 것이라고 사실처럼 예언하는 것.'],
    should_statements: ['당위적 사고', '"~해야 한다"는 나와 남에 대한 엄격한 규칙.'],
    labeling: ['낙인찍기', '한 번의 실수를 "나는 실패자야" 같은 정체성으로 만드는 것.'],
    personalization: ['개인화', '내 통제 밖의 일까지 내 탓으로 돌리는 것.'],
    emotional_reasoning: ['감정적 추론', '"바보 같은 기분이니 나는 바보야"처럼 감정을 증거로 삼는 것.'],
    discounting_positive: ['긍정 격하', '좋은 일은 "별것 아니라"고 여겨 부정적인 그림을 유지하는 것.'],
  },
};

const EMOTION_NAMES: Record<Language, Record<EmotionName, string>> = {
  en: { joy: 'Joy', sadness: 'Sadness', anger: 'Anger', fear: 'Fear', surprise: 'Surprise', disgust: 'Disgust', trust: 'Trust', anticipation: 'Anticipation' },
  ko: { joy: '기쁨', sadness: '슬픔', anger: '분노', fear: '두려움', surprise: '놀람', disgust: '혐오', trust: '신뢰', anticipation: '기대' },
};

export function distortionTerm(lang: Language, category: string): { name: string; explanation: string } {
  const entry = DISTORTIONS[lang][category as DistortionCategory];
  return entry ? { name: entry[0], explanation: entry[1] } : { name: category.replace(/_/g, ' '), explanation: '' };
}

export function emotionName(lang: Language, name: string): string {
  return EMOTION_NAMES[lang][name as EmotionName] ?? name;
}

/** Every distortion category, in the analyzers' order (for pickers). */
export const DISTORTION_KEYS = Object.keys(DISTORTIONS.en) as DistortionCategory[];

/** The emotion words offered when rating (any word may be typed). */
export function emotionSuggestions(lang: Language): string[] {
  return Object.values(EMOTION_NAMES[lang]);
}
