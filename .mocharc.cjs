// Mocha runs the TypeScript sources through tsx; services start once in the global fixtures.
module.exports = {
  'node-option': ['import=tsx', 'no-warnings=ExperimentalWarning'],
  require: ['test/harness/global-fixtures.ts'],
  timeout: 30000,
  slow: 2000,
  reporter: 'spec',
  exit: true,
};
