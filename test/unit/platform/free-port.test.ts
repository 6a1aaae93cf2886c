import { expect } from 'chai';
import { freePort } from '../../../scripts/services/process.js';

describe('free ports for the harness', () => {
  it('when many services ask for a port at once, then no two get the same one (the OS may offer a just-closed port again)', async () => {
    const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    expect(new Set(ports).size).to.equal(ports.length);
  });
});
