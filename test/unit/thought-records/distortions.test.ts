import { expect } from 'chai';
import { DISTORTION_CATEGORIES } from '../../../kernel/contracts/thought-records.js';
import { DISTORTIONS } from '../../../workers/analyzers/analyzer.js';

describe('thought-record distortion categories', () => {
  it('when the analyzers name their distortions, then the thought-record contract accepts exactly those', () => {
    expect([...DISTORTION_CATEGORIES]).to.deep.equal([...DISTORTIONS]);
  });
});
