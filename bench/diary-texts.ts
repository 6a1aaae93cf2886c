/**
 * Realistic, varied diary entries for load: 3–10 sentences in English, Korean or both, with a
 * mood per day (good, bad, mixed, flat) and the kinds of automatic thoughts the analyzer looks
 * for. Deterministic for a given seed, so runs are comparable.
 */
import { seededRandom } from '../scripts/seeded-random.js';

export interface DiaryText {
  title: string | null;
  content: string;
  language: 'en' | 'ko';
}

const EN = {
  good: [
    'I went for a long walk by the river after work and the air felt fresh.',
    'My sister called and we laughed about our childhood for almost an hour.',
    'The presentation went better than I expected and my manager thanked me.',
    'I finally finished the book I started last month, and the ending was lovely.',
    'Cooked a new pasta recipe tonight and it actually turned out great.',
    'I feel grateful for the quiet morning with coffee and sunlight on the desk.',
    'A stranger helped me carry my bags up the stairs, which was really kind.',
    'I am proud that I kept my promise to exercise three times this week.',
    'We had a relaxed dinner with friends and nobody checked their phones.',
    'I am excited about the trip next weekend and already packed half my bag.',
  ],
  bad: [
    'I could not sleep well again and woke up feeling exhausted.',
    'My boss criticised my report in front of the whole team and I felt embarrassed.',
    'I am worried about the rent because the bill was higher than usual.',
    'The bus was late, I missed the meeting, and the whole day felt ruined.',
    'I argued with my partner about something small and now we are not talking.',
    'I feel lonely in the evenings since my roommate moved out.',
    'My stomach was tense all afternoon and I could not concentrate on anything.',
    'I am angry that my friend cancelled our plans at the last minute again.',
  ],
  distorted: [
    'I always mess everything up, no matter how hard I try.',
    'Everyone at work probably thinks I am lazy and useless.',
    'If I fail this exam my whole life will be over.',
    'I should be able to handle this without asking anyone for help.',
    'Nobody ever listens to me, so there is no point in speaking up.',
    'I am such an idiot for forgetting her birthday.',
    'It is my fault that the project got delayed, even though three people were on it.',
    'I feel like a failure, so I must be one.',
    'The compliment does not count, they were just being polite.',
    'I just know the interview tomorrow is going to go badly.',
  ],
  flat: [
    'Worked from home today and answered emails most of the morning.',
    'Did the laundry and cleaned the kitchen in the afternoon.',
    'Had rice and soup for lunch at the usual place near the office.',
    'The weather was cloudy with a little rain in the evening.',
    'I watched two episodes of a documentary about the ocean.',
    "Took the train to my parents' house and stayed for dinner.",
    'Spent an hour fixing the printer settings on my laptop.',
  ],
  titles: ['Today', 'A long day', 'Monday again', 'Evening thoughts', 'Small wins', 'Rough one', 'Notes to self', 'Weekend', 'After work', 'Before bed'],
};

const KO = {
  good: [
    '퇴근 후에 한강을 따라 오래 걸었는데 공기가 정말 상쾌했다.',
    '오랜만에 언니와 통화하면서 어릴 때 이야기로 한참 웃었다.',
    '발표가 생각보다 잘 끝나서 팀장님이 고맙다고 말해 주셨다.',
    '지난달부터 읽던 책을 드디어 다 읽었고 결말이 참 따뜻했다.',
    '오늘 처음 만든 된장찌개가 꽤 맛있어서 기분이 좋았다.',
    '햇살이 드는 아침에 커피를 마시며 조용히 보낸 시간이 감사했다.',
    '이번 주에 운동을 세 번 하겠다는 약속을 지켜서 뿌듯하다.',
    '다음 주 여행이 너무 기대돼서 벌써 짐을 반쯤 쌌다.',
    '친구들과 편하게 저녁을 먹으며 오랜만에 마음껏 웃었다.',
  ],
  bad: [
    '또 잠을 제대로 못 자서 아침부터 너무 피곤했다.',
    '팀장님이 모두 앞에서 내 보고서를 지적해서 창피했다.',
    '이번 달 관리비가 평소보다 많이 나와서 걱정이 된다.',
    '버스가 늦게 와서 회의에 늦었고 하루 종일 기분이 안 좋았다.',
    '사소한 일로 남자친구와 다퉜고 지금은 연락도 안 하고 있다.',
    '룸메이트가 이사 간 뒤로 저녁마다 외롭다.',
    '친구가 또 약속을 직전에 취소해서 화가 났다.',
  ],
  distorted: [
    '나는 항상 모든 걸 망쳐, 아무리 노력해도 소용없어.',
    '회사 사람들은 다 나를 게으르고 쓸모없다고 생각할 거야.',
    '이번 시험에 떨어지면 내 인생은 끝이야.',
    '이 정도는 누구 도움 없이 혼자 해냈어야 했는데.',
    '아무도 내 말을 들어주지 않으니까 말해 봤자 소용없다.',
    '생일을 잊어버리다니 나는 정말 바보야.',
    '프로젝트가 늦어진 건 다 내 탓이다.',
    '내일 면접은 분명히 망할 거야.',
    '칭찬은 그냥 예의상 한 말이니까 의미 없어.',
  ],
  flat: [
    '오늘은 재택근무를 하면서 오전 내내 메일에 답장했다.',
    '오후에는 빨래를 하고 부엌을 정리했다.',
    '점심은 회사 근처 단골 식당에서 김치찌개를 먹었다.',
    '하루 종일 흐리다가 저녁에 비가 조금 내렸다.',
    '바다에 관한 다큐멘터리를 두 편 봤다.',
    '기차를 타고 부모님 댁에 가서 저녁을 먹고 왔다.',
  ],
  titles: ['오늘 하루', '긴 하루', '월요일', '저녁 생각', '작은 성공', '힘든 날', '나에게', '주말', '퇴근길', '자기 전에'],
};

type Mood = 'good' | 'bad' | 'mixed' | 'flat';
type Kind = 'good' | 'bad' | 'distorted' | 'flat';

/** Which sentences a day of each mood is made of (weights sum to 1). */
const MOOD_MIX: Record<Mood, Array<[Kind, number]>> = {
  good: [['good', 0.7], ['flat', 0.3]],
  bad: [['bad', 0.45], ['distorted', 0.4], ['flat', 0.15]],
  mixed: [['good', 0.3], ['bad', 0.25], ['distorted', 0.2], ['flat', 0.25]],
  flat: [['flat', 0.8], ['good', 0.2]],
};


export function createDiaryTexts(seed = 42): () => DiaryText {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  function sentences(pool: typeof EN | typeof KO, mood: Mood, count: number): string[] {
    const out = new Set<string>();
    // Sentences do not repeat within one entry; a kind that runs out falls back to the others.
    for (let attempts = 0; out.size < count && attempts < count * 10; attempts++) {
      let r = random();
      const [kind] = MOOD_MIX[mood].find(([, weight]) => (r -= weight) < 0) ?? MOOD_MIX[mood][0]!;
      out.add(pick(pool[kind]));
    }
    return [...out];
  }

  return () => {
    const count = 3 + Math.floor(random() * 8);
    const mood = pick<Mood>(['good', 'bad', 'bad', 'mixed', 'mixed', 'flat']);
    const lang = random();
    let content: string[];
    let language: 'en' | 'ko';
    let titles: string[];
    if (lang < 0.45) {
      content = sentences(EN, mood, count);
      language = 'en';
      titles = EN.titles;
    } else if (lang < 0.9) {
      content = sentences(KO, mood, count);
      language = 'ko';
      titles = KO.titles;
    } else {
      // Mixed entries: Korean writers often switch to English mid-entry.
      const half = Math.max(1, Math.floor(count / 2));
      content = [...sentences(KO, mood, half), ...sentences(EN, mood, count - half)];
      language = 'ko';
      titles = KO.titles;
    }
    return { title: random() < 0.7 ? pick(titles) : null, content: content.join(' '), language };
  };
}
