import { expect } from 'chai';
import {
  DISTORTIONS,
  EMOTIONS,
  type AnalysisInput,
  type AnalysisResult,
  type DistortionCategory,
} from '../../../workers/analyzers/analyzer.js';
import { analyzeOffline, createOfflineAnalyzer } from '../../../workers/analyzers/offline/offline-analyzer.js';
import { readEntry } from '../../../workers/analyzers/offline/reading.js';
import { compileCue, matchForm } from '../../../workers/analyzers/offline/text.js';

const analyze = (content: string, extra: Partial<AnalysisInput> = {}) => analyzeOffline({ title: null, content, ...extra });
const score = (r: AnalysisResult, name: string) => r.emotions.find((e) => e.name === name)?.score ?? -1;
const HANGUL = /[\uac00-\ud7a3]/;

function expectValidResult(r: AnalysisResult): void {
  expect(r.emotions.map((e) => e.name).sort()).to.deep.equal([...EMOTIONS].sort());
  for (let i = 1; i < r.emotions.length; i++) {
    expect(r.emotions[i - 1]!.score, 'emotions sorted by score').to.be.at.least(r.emotions[i]!.score);
  }
  for (const e of r.emotions) expect(e.score).to.be.within(0, 1);
  expect(r.valence).to.be.within(-1, 1);
  expect(['POSITIVE', 'NEGATIVE', 'NEUTRAL']).to.include(r.emotionStatus);
  expect(['en', 'ko', 'mixed', 'unknown']).to.include(r.language);
  for (const t of r.automaticThoughts) {
    expect(DISTORTIONS).to.include(t.distortion);
    expect(t.intensity).to.be.within(0, 1);
    expect(t.text).to.be.a('string').with.length.above(0);
    expect(t.alternativeThought).to.be.a('string').with.length.above(0);
  }
  if (r.automaticThoughts.length > 0) expect(r.alternativeThoughts).to.have.length.above(0);
  expect(r.promptForChange).to.be.a('string').with.length.above(0);
}

describe('offline analyzer', () => {
  describe('negation', () => {
    const pairs: Array<[string, string]> = [
      ['I am happy with how today went.', 'I am not happy with how today went.'],
      ['The food there was good.', 'The food there was never good.'],
      ['오늘 기분이 좋아.', '오늘 기분이 안 좋아.'],
      ['오늘 기분이 좋아.', '오늘 기분이 좋지 않아.'],
      ['오늘 기분이 좋아.', '오늘 기분이 안좋아.'],
    ];
    for (const [plain, negated] of pairs) {
      it(`when "${negated}" negates a positive word, then the status flips to NEGATIVE`, () => {
        expect(analyze(plain).emotionStatus).to.equal('POSITIVE');
        const r = analyze(negated);
        expect(r.emotionStatus).to.equal('NEGATIVE');
        expect(score(r, 'sadness')).to.be.greaterThan(score(r, 'joy'));
      });
    }

    it('when a negative word is negated, then the sentence is no longer negative', () => {
      expect(analyze('It was a bad day.').emotionStatus).to.equal('NEGATIVE');
      expect(analyze("It wasn't a bad day.").emotionStatus).to.equal('POSITIVE');
      expect(analyze('나쁜 하루였어.').emotionStatus).to.equal('NEGATIVE');
      expect(analyze('나쁘지 않은 하루였어.').emotionStatus).to.equal('POSITIVE');
    });

    it('when Korean says it could not do something (못 했어), then the entry reads negative', () => {
      expect(analyze('숙제를 했어.').emotionStatus).to.equal('NEUTRAL');
      expect(analyze('숙제를 못 했어.').emotionStatus).to.equal('NEGATIVE');
    });

    it('when a negator only absorbs a verb or compares (can\'t stop smiling, haven\'t felt this good), then it does not flip', () => {
      expect(analyze("I can't stop smiling.").emotionStatus).to.equal('POSITIVE');
      expect(analyze("I haven't felt this good in years.").emotionStatus).to.equal('POSITIVE');
    });
  });

  describe('intensifiers and diminishers', () => {
    const stronger: Array<[string, string, 'joy' | 'sadness']> = [
      ['I am happy.', 'I am very happy.', 'joy'],
      ['I am sad.', 'I am so sad.', 'sadness'],
      ['I am happy.', 'I am really happy.', 'joy'],
      ['슬프다.', '너무 슬프다.', 'sadness'],
      ['기뻐.', '정말 기뻐.', 'joy'],
      ['좋아.', '진짜 좋아.', 'joy'],
    ];
    for (const [plain, intense, emotion] of stronger) {
      it(`when "${intense}" intensifies, then the sentence's valence and ${emotion} rise and the status holds`, () => {
        // Intensity is the rules' reading; the status and emotion heads turn it into probabilities.
        const a = readEntry({ title: null, content: plain }).sentences[0]!;
        const b = readEntry({ title: null, content: intense }).sentences[0]!;
        expect(Math.abs(b.valence)).to.be.greaterThan(Math.abs(a.valence));
        expect(b.emotions[emotion]).to.be.greaterThan(a.emotions[emotion]);
        expect(analyze(intense).emotionStatus).to.equal(analyze(plain).emotionStatus);
        expect(analyze(intense).emotions[0]!.name).to.equal(emotion);
      });
    }

    it('when a diminisher softens (조금, a bit), then |valence| drops but keeps its sign', () => {
      expect(analyze('조금 슬퍼.').valence).to.be.lessThan(0).and.greaterThan(analyze('슬퍼.').valence);
      expect(analyze('I am a bit sad.').valence).to.be.lessThan(0).and.greaterThan(analyze('I am sad.').valence);
    });
  });

  describe('Korean and mixed text', () => {
    it('when a Korean adjective is conjugated (슬프다, 슬퍼, 슬펐다, 슬픈), then the stem is still found', () => {
      for (const text of ['오늘은 슬프다.', '너무 슬퍼.', '어제는 슬펐다.', '슬픈 하루였어.']) {
        const r = analyze(text);
        expect(r.emotionStatus, text).to.equal('NEGATIVE');
        expect(r.emotions[0]!.name, text).to.equal('sadness');
        expect(r.language).to.equal('ko');
      }
    });

    it('when particles and endings are attached (화가 났다, 짜증났어, 걱정돼), then the emotion is found', () => {
      expect(analyze('동생 때문에 화가 났다.').emotions[0]!.name).to.equal('anger');
      expect(analyze('버스가 늦어서 짜증났어.').emotions[0]!.name).to.equal('anger');
      expect(analyze('내일 시험이 걱정돼.').emotions[0]!.name).to.equal('fear');
    });

    it('when an entry mixes Korean and English, then both halves count and the language is mixed', () => {
      const r = analyze('오늘 presentation 완전 망했어. I feel so embarrassed.');
      expect(r.language).to.equal('mixed');
      expect(r.emotionStatus).to.equal('NEGATIVE');
      expect(analyze('I am so 행복해 today!').emotionStatus).to.equal('POSITIVE');
    });

    it('when Korean sentences have no punctuation, then they are still split at -다 endings', () => {
      const r = analyze('오늘은 평범했다 나는 항상 모든 걸 망쳐 버린다 내일은 괜찮겠지');
      expect(r.automaticThoughts.map((t) => t.text)).to.deep.equal(['나는 항상 모든 걸 망쳐 버린다']);
    });
  });

  describe('distortions', () => {
    const cases: Array<[DistortionCategory, string, string]> = [
      ['all_or_nothing', "If it isn't perfect, it's worthless.", '완벽하지 않으면 아무 소용없어.'],
      ['overgeneralization', 'Nobody ever calls me back.', '나는 맨날 이런 식이야.'],
      ['catastrophizing', 'I failed the quiz and now my future is ruined.', '이번 일로 내 인생은 끝장이야.'],
      ['mind_reading', "They think I'm stupid.", '다들 나를 싫어하는 것 같아.'],
      ['fortune_telling', "It's going to go wrong, I just know it.", '이번에도 안 될 거야.'],
      ['should_statements', 'I should have known better.', '나는 더 잘했어야 했어.'],
      ['labeling', "I'm such a loser.", '나는 실패자야.'],
      ['personalization', "It's all my fault that they broke up.", '다 내 탓이야.'],
      ['emotional_reasoning', 'I feel worthless, so it must be true.', '불안한 걸 보면 뭔가 잘못될 게 분명해.'],
      ['discounting_positive', 'I got an A, but it was just luck.', '합격한 건 운이 좋았을 뿐이야.'],
    ];
    // The distortion model is learned (workers/analyzers/offline/distortion-model.ts), so a textbook
    // sentence can fall below its category's threshold: every category must be found on at least one
    // of its two sentences, 18 of the 20 overall, and nothing may be flagged but the thought itself.
    it('when an entry voices a textbook automatic thought, then its category is found on that sentence', () => {
      const missed: string[] = [];
      for (const [category, english, korean] of cases) {
        let found = 0;
        for (const sentence of [english, korean]) {
          const r = analyze(`Today was long. ${sentence}`);
          expect(r.automaticThoughts.every((t) => t.text === sentence), sentence).to.equal(true);
          const thought = r.automaticThoughts.find((t) => t.distortion === category);
          if (!thought) {
            missed.push(sentence);
            continue;
          }
          found++;
          expect(thought.intensity, sentence).to.be.greaterThan(0.3);
          expect(r.emotionStatus, sentence).to.equal('NEGATIVE');
        }
        expect(found, category).to.be.at.least(1);
      }
      expect(missed.length, missed.join(' | ')).to.be.at.most(2);
    });

    it('when absolutist words describe good things or plans, then there is (almost) no automatic thought', () => {
      const flagged = [
        'I always have fun with my sister.',
        'Everything went smoothly today.',
        'I should buy milk tomorrow.',
        'We always laugh so much at Sunday lunch.',
        'Everyone was so kind to me at the new job.',
        '우리는 항상 즐겁게 지내.',
        '내일까지 보고서를 제출해야 해.',
        '친구들은 언제나 나를 반겨 준다.',
        "My friend said it wasn't my fault.",
      ].filter((text) => analyze(text).automaticThoughts.length > 0);
      expect(flagged.length, flagged.join(' | ')).to.be.at.most(1);
    });
  });

  describe('texts for the writer', () => {
    const entry = '나는 완전 실패자야.';

    it('when the entry is Korean and no language is given, then alternatives and prompt are Korean', () => {
      const r = analyze(entry);
      expect(r.automaticThoughts[0]!.alternativeThought).to.match(HANGUL);
      expect(r.alternativeThoughts[0]).to.match(HANGUL);
      expect(r.promptForChange).to.match(HANGUL);
    });

    it('when a language is given, then generated texts follow it whatever the entry language', () => {
      expect(analyze(entry, { language: 'en' }).promptForChange).to.not.match(HANGUL);
      const r = analyze("I'm a complete failure.", { language: 'ko' });
      expect(r.automaticThoughts[0]!.alternativeThought).to.match(HANGUL);
      expect(r.promptForChange).to.match(HANGUL);
    });

    it('when a template quotes the thought, then it quotes this sentence', () => {
      const alternatives = ['I always ruin everything.', 'I always ruin every single plan.', 'I always mess up.'].map(
        (t) => analyze(t).automaticThoughts[0]!.alternativeThought,
      );
      const quoting = alternatives.filter((a) => a.includes('“'));
      for (const a of quoting) expect(a).to.match(/“I always (ruin|mess)/);
    });

    it('when the entry is negative without distortions, then one supportive alternative is offered; positive entries get none', () => {
      expect(analyze('My cat is sick and I am scared.').alternativeThoughts).to.have.length(1);
      expect(analyze('What a lovely day at the beach!').alternativeThoughts).to.deep.equal([]);
    });
  });

  describe('robustness and invariants', () => {
    it('when the same entry is analysed twice, then the results are deep-equal', async () => {
      const input: AnalysisInput = {
        title: '힘든 하루',
        content: 'I always mess everything up. 다들 나를 싫어하는 것 같아. But dinner was lovely! 😊',
      };
      const first = analyzeOffline(input);
      const second = await createOfflineAnalyzer().analyze(structuredClone(input));
      expect(second).to.deep.equal(first);
      expectValidResult(first);
    });

    const edgeCases: Array<[string, AnalysisInput]> = [
      ['empty', { title: null, content: '' }],
      ['whitespace only', { title: '  ', content: ' \n\t \r\n ' }],
      ['emoji only', { title: null, content: '😊😊🎉' }],
      ['punctuation only', { title: null, content: '?!...!!' }],
      ['one 200k-character word', { title: null, content: 'a'.repeat(200_000) }],
      ['a very long entry', { title: 'long', content: 'I never do anything right. 오늘도 너무 힘들었다. '.repeat(5_000) }],
    ];
    for (const [name, input] of edgeCases) {
      it(`when the entry is ${name}, then it does not throw and the result obeys the interface`, () => {
        const r = analyzeOffline(input);
        expectValidResult(r);
        expect(r.automaticThoughts.length).to.be.at.most(20);
      });
    }

    it('when there is nothing to analyse, then the result is neutral with zero scores', () => {
      const r = analyze('   ');
      expect(r.emotionStatus).to.equal('NEUTRAL');
      expect(r.valence).to.equal(0);
      expect(r.language).to.equal('unknown');
      expect(r.emotions.every((e) => e.score === 0)).to.equal(true);
      // The texts for the writer still follow the language asked for.
      expect(analyzeOffline({ title: null, content: '   ', language: 'ko' }).promptForChange).to.match(/[\uac00-\ud7a3]/);
    });

    it('when called through the Analyzer interface with an aborted signal, then it rejects', async () => {
      const analyzer = createOfflineAnalyzer();
      expect(analyzer.name).to.equal('offline');
      expect(analyzer.version).to.match(/^\d+\.\d+\.\d+$/);
      const controller = new AbortController();
      controller.abort(new Error('shutting down'));
      const err = await analyzer.analyze({ title: null, content: 'hi' }, controller.signal).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(Error).with.property('message', 'shutting down');
    });
  });
});

describe('offline analyzer cue patterns', () => {
  it('when a cue pattern spells an upper-case letter, then compiling it fails (cues match lower-cased text, without the slow i flag)', () => {
    expect(() => compileCue('(디데이|D-)')).to.throw(/upper-case/);
    expect(() => compileCue('\\bI\\b')).to.throw(/upper-case/);
  });

  it('when a cue pattern is lower case, then it matches the lower-cased form of mixed-case text, escapes and property classes kept', () => {
    const re = compileCue('\\bi (always|never) \\w+\\b|\\p{Script=Hangul}+ 거야');
    expect(re.test(matchForm('Honestly I ALWAYS fail'))).to.equal(true);
    expect(re.test(matchForm('망칠 거야'))).to.equal(true);
    expect(re.test(matchForm('It was fine'))).to.equal(false);
  });
});
