// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** One `no-restricted-imports` block per folder: relative imports into the folders it must not use. */
function importDirections(rules) {
  return rules.map(({ files, ignores, forbid, why }) => ({
    files,
    ...(ignores ? { ignores } : {}),
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: forbid.flatMap((dir) => [`../**/${dir}/*`, `../**/${dir}.js`, `../${dir}/*`, `../${dir}.js`, `./${dir}/*`]), message: why }] }],
    },
  }));
}

export default tseslint.config(
  { ignores: ['dist/', 'web/dist/', 'node_modules/', '.data/', 'coverage/', '.mocharc.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/ban-ts-comment': 'error',
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only config/ and scripts read process.env.' }],
    },
  },
  {
    files: ['config/**', 'scripts/**', 'test/harness/**', 'bench/**', 'eslint.config.js'],
    rules: { 'no-restricted-properties': 'off' },
  },
  // Import directions: config <- kernel <- models <- { src domains, realtime, workers }; only the
  // API's composition root (src/app.ts, src/main.ts, src/cli/) wires realtime and workers in.
  ...importDirections([
    { files: ['config/**'], forbid: ['kernel', 'models', 'src', 'realtime', 'workers'], why: 'config/ is read by everything and reads nothing of ours' },
    { files: ['kernel/**'], forbid: ['models', 'src', 'realtime', 'workers'], why: 'kernel/ is shared by every process: it depends on none of them' },
    { files: ['models/**'], forbid: ['src', 'realtime', 'workers'], why: 'models/ is persistence only' },
    { files: ['workers/**'], forbid: ['src', 'realtime'], why: 'the worker shares only kernel/, models/ and config/ with the API' },
    { files: ['realtime/**'], forbid: ['workers', 'src/app', 'src/main', 'src/http', 'src/cli'], why: 'the realtime layer calls domain services; it is wired by the composition root' },
    {
      files: ['src/**'],
      ignores: ['src/app.ts', 'src/main.ts', 'src/cli/**'],
      forbid: ['realtime', 'workers'],
      why: 'domains reach the realtime layer through ports; only the composition root wires it',
    },
  ]),
  { files: ['**/*.js', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
);
