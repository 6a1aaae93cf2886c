import { expect } from 'chai';
import { checkPassword, commonPasswords } from '../../../src/auth/password-policy.js';

describe('password policy', () => {
  const ctx = { email: 'river.stone@example.test', username: 'RiverStone_77' };
  const messages = (password: string) => checkPassword(password, ctx).map((p) => p.message);

  it('when the shipped common-password list is loaded, then it has thousands of lower-cased entries', () => {
    const list = commonPasswords();
    expect(list.size).to.be.greaterThan(4000);
    expect(list.has('password')).to.equal(true);
    expect(list.has('1234567890')).to.equal(true);
    expect([...list].every((p) => p === p.toLowerCase())).to.equal(true);
  });

  it('when the length is outside 10–128 code points, then it is refused', () => {
    expect(messages('Abc-12345')).to.deep.equal(['must be at least 10 characters']);
    expect(messages('a'.repeat(129))).to.deep.equal(['must be at most 128 characters']);
    expect(messages('😀'.repeat(9))).to.deep.equal(['must be at least 10 characters']);
    expect(messages('😀'.repeat(10))).to.deep.equal([]);
  });

  it('when it is a common password in any case, then it is refused', () => {
    expect(messages('QWERTYUIOP')).to.deep.equal(['is too common; choose a less guessable password']);
    expect(messages('Password123')).to.deep.equal(['is too common; choose a less guessable password']);
  });

  it('when it equals the email, its local part or the username, case-insensitively, then it is refused', () => {
    for (const p of ['RIVER.STONE@EXAMPLE.TEST', 'river.stone', 'riverstone_77']) {
      expect(checkPassword(p, { ...ctx, email: 'river.stone@example.test' }).length, p).to.equal(1);
    }
  });

  it('when it is long, uncommon and personal to nobody, then it passes, and problems carry the given field path', () => {
    expect(messages('Violet-thunder-on-tuesday')).to.deep.equal([]);
    expect(checkPassword('short', ctx, 'body.newPassword')[0]!.path).to.equal('body.newPassword');
  });
});
