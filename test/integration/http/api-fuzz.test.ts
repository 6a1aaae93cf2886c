import { expect } from 'chai';
import { fuzzProfile, runSchemathesis, SESSION_ENDING_OPERATIONS, STREAMING_OPERATIONS } from '../../../scripts/fuzz/schemathesis.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser } from '../../harness/users.js';

/**
 * schemathesis against the API's own OpenAPI document, every check on (server errors, response
 * schemas and status codes, documented-valid requests accepted, invalid ones rejected, 405 + Allow
 * for undeclared methods, stateful link sequences), as a user and as an administrator. A short,
 * seeded profile here; the long run is the same test with more examples:
 *   FUZZ_MAX_EXAMPLES=50 npx mocha test/integration/http/api-fuzz.test.ts
 * Reports (JUnit) land in FUZZ_REPORT_DIR (default: a temp dir, printed on failure).
 */
describe('API fuzzing from the OpenAPI document (schemathesis)', function () {
  const { maxExamples, seed, reportDir } = fuzzProfile({ maxExamples: 2, seed: 20261201 });
  this.timeout(120_000 + maxExamples * 60_000);
  let app: TestApp;

  before(async () => {
    // Fuzzing sends thousands of logins, codes and sign-ups from one address: the per-IP limits
    // would answer most of them 429 and hide what the routes do.
    app = await startTestApp('fuzz', {
      auth: {
        rateLimits: { loginFailuresPerAccount: 1_000_000, loginFailuresPerIp: 1_000_000, loginFailuresPerAccountUnknownIps: 1_000_000, registerPerIp: 1_000_000, resetPerIp: 1_000_000, codeAttemptsPerIp: 1_000_000 },
      },
    });
  });

  after(async () => {
    await app?.destroy();
  });

  for (const role of ['USER', 'ADMIN'] as const) {
    it(`when the document is fuzzed as ${role === 'USER' ? 'a user' : 'an administrator'}, then no check fails: no 5xx, every response as documented, documented-valid requests accepted, invalid ones refused`, async () => {
      const caller = await createTestUser(app, { role });
      const summary = await runSchemathesis({
        label: role.toLowerCase(),
        baseUrl: app.url(),
        accessToken: caller.accessToken,
        maxExamples,
        seed,
        // Logout, password change and account deletion would end the run's only session.
        exclude: [...SESSION_ENDING_OPERATIONS, ...STREAMING_OPERATIONS],
        reportDir,
      });
      const tail = summary.output.split('\n').slice(-60).join('\n');
      console.log(`      schemathesis as ${role}: ${summary.casesLine} (seed ${seed}, ${maxExamples} examples per operation)`);
      expect(summary.cases, tail).to.be.greaterThan(500);
      expect(summary.exitCode, `schemathesis failed (report: ${summary.junitPath}):\n${tail}`).to.equal(0);
    });
  }
});
