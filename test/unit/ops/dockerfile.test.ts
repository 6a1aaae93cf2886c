import { expect } from 'chai';
import { readFileSync } from 'node:fs';

/**
 * The image cannot be built here (no Docker engine); these checks pin the properties the build
 * must keep. `npm run build` and `node dist/src/main.js help` themselves run in the build stage.
 */
const dockerfile = readFileSync('Dockerfile', 'utf8');
/** Instructions with their continuation lines joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = instructions.reduce<string[][]>((acc, line) => {
  if (/^FROM /i.test(line)) acc.push([]);
  acc[acc.length - 1]?.push(line);
  return acc;
}, []);
const runtime = stages[stages.length - 1] ?? [];

describe('Dockerfile (structure)', function () {
  it('when the stages are read, then it builds with dev dependencies and ships production dependencies only', function () {
    expect(stages.length).to.be.greaterThanOrEqual(2);
    const all = instructions.join('\n');
    expect(all).to.match(/RUN npm ci\b(?!.*--omit=dev)/);
    expect(all).to.match(/RUN npm run build/);
    expect(all).to.match(/RUN npm ci --omit=dev/);
    expect(runtime[0]).to.match(/^FROM \S+ AS runtime$/);
    expect(runtime.some((l) => /^RUN npm ci(?! --omit=dev)/.test(l)), 'no dev install in the runtime stage').to.equal(false);
    expect(runtime.some((l) => /^COPY --from=build .*\/app\/dist/.test(l))).to.equal(true);
    expect(runtime.some((l) => /^COPY --from=\S+ .*node_modules/.test(l))).to.equal(true);
    expect(runtime.some((l) => /^COPY (?!--from)\S* ?\. /.test(l)), 'no source tree in the runtime image').to.equal(false);
  });

  it('when the runtime stage is read, then it runs as a non-root user with a /healthz healthcheck and an init', function () {
    const user = runtime.filter((l) => /^USER /.test(l)).pop();
    expect(user).to.match(/^USER (?!root\b|0\b)\S+/);
    expect(runtime.find((l) => /^HEALTHCHECK /.test(l))).to.match(/\/healthz/);
    expect(runtime.find((l) => /^ENTRYPOINT /.test(l))).to.equal('ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/src/main.js"]');
    expect(runtime.find((l) => /^CMD /.test(l))).to.equal('CMD ["api"]');
    expect(runtime.find((l) => /^STOPSIGNAL /.test(l))).to.equal('STOPSIGNAL SIGTERM');
    expect(runtime.join('\n')).to.match(/apt-get install .*\btini\b.*\bmariadb-client\b/);
  });

  it('when .dockerignore is read, then secrets, dependencies and build output stay out of the context', function () {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim());
    expect(ignored).to.include.members(['.env', '.git', 'node_modules', 'dist', '.data', 'test']);
  });
});
