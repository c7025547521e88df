import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Entry points run as programs; importing one would run it, so nothing may. */
const ENTRY_POINTS = {
  regex: String.raw`(^|/)(main|scripts/start|scripts/images|bench/run|bin/cdk)$|^\./(start|images)$`,
  message:
    'entry points (main.ts, scripts/start.ts, scripts/images.ts, bench/run.ts, bin/cdk.ts) are imported by nothing',
};
const ORCHESTRATOR = {
  group: ['**/orchestrator/**', '**/orchestrator'],
  message: 'the services never import the orchestrator (shared facts live in common/)',
};
const SERVICES = {
  group: ['**/services/**'],
  message: 'the orchestrator never imports the services (shared facts live in common/)',
};
const SYSTEM = {
  group: ['**/orchestrator/**', '**/services/**', '**/scripts/**', '**/lib/**'],
  message: 'common/ is what every part shares, so it imports none of them',
};
const SERVICES_RUNTIME = {
  group: ['**/services/**'],
  allowTypeImports: true,
  message: 'only types may be imported from the services here',
};

/** One `no-restricted-imports` rule per folder: the import rules of the house, enforced. */
const importRules = (files, patterns) => ({
  files,
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [ENTRY_POINTS, ...patterns] }] },
});

export default tseslint.config(
  {
    ignores: [
      'node_modules',
      'cdk.out',
      'data',
      'web/dist',
      'test-artifacts',
      '.rehearsal-cache',
      '*.js',
      '*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  importRules(['**/*.ts'], []),
  importRules(['services/**/*.ts'], [ORCHESTRATOR]),
  importRules(['orchestrator/**/*.ts'], [SERVICES]),
  importRules(['common/**/*.ts'], [SYSTEM]),
  importRules(['web/**/*.ts', 'lib/**/*.ts', 'bin/**/*.ts'], [SERVICES_RUNTIME]),
);
