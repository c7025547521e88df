/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  // Two cores: suites that start processes, containers or a browser must not starve each other.
  maxWorkers: 2,
  testTimeout: 30000,
  modulePathIgnorePatterns: ['<rootDir>/cdk.out', '<rootDir>/data'],
};
