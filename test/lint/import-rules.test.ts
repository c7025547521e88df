/**
 * The house's import rules are lint rules (eslint.config.mjs): each forbidden import below
 * fails lint with the rule's message, and each allowed one passes.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '../..');

type Case = [file: string, source: string];

/**
 * Lints every case's source as if it were the file named, in one ESLint run outside Jest
 * (whose module sandbox cannot load the ESM config), and returns each case's
 * restricted-import messages.
 */
function importProblems(cases: Case[]): string[][] {
  const program = `
    const { ESLint } = require('eslint');
    const path = require('node:path');
    const cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const eslint = new ESLint({ cwd: process.cwd() });
    Promise.all(cases.map(async ([file, source]) => {
      const [result] = await eslint.lintText(source, { filePath: path.resolve(file) });
      return result.messages
        .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
        .map((m) => m.message);
    })).then((out) => process.stdout.write(JSON.stringify(out)));`;
  const output = execFileSync(process.execPath, ['-e', program], {
    cwd: REPO_ROOT,
    input: JSON.stringify(cases),
    encoding: 'utf8',
  });
  return JSON.parse(output) as string[][];
}

jest.setTimeout(60_000);

const FORBIDDEN: Array<[...Case, RegExp]> = [
  [
    'services/shared/example.ts',
    "import { createRuntime } from '../../orchestrator/run';",
    /never import the orchestrator/,
  ],
  [
    'orchestrator/example.ts',
    "import { parseActsConfig } from '../services/shared/config';",
    /never imports the services/,
  ],
  ['web/src/example.ts', "import { parseActsConfig } from '../../services/shared/config';", /only types/],
  ['lib/example.ts', "import { parseActsConfig } from '../services/shared/config';", /only types/],
  ['common/example.ts', "import { parseConfig } from '../orchestrator/config';", /imports none of them/],
  ['scripts/example.ts', "import '../orchestrator/main';", /entry points/],
  ['test/example.test.ts', "import '../scripts/start';", /entry points/],
  ['scripts/example.ts', "import './start';", /entry points/],
];

const ALLOWED: Case[] = [
  ['web/src/example.ts', "import type { Act } from '../../services/acts/act';"],
  ['services/shared/example.ts', "import { SERVICES } from '../../common/topology';"],
  ['orchestrator/example.ts', "import { ORCHESTRATOR_OWNER } from '../common/topology';"],
  ['scripts/example.ts', "import { runOrchestrator } from '../orchestrator/run';"],
  ['scripts/example.ts', "import { parseStartArgs } from './start/cli';"],
];

describe('lint enforces the import rules', () => {
  let problems: string[][];
  beforeAll(() => {
    problems = importProblems([...FORBIDDEN.map(([file, source]) => [file, source] as Case), ...ALLOWED]);
  });

  test.each(FORBIDDEN.map((c, i) => [...c, i] as const))('%s: %s fails', (_file, _source, message, i) => {
    expect(problems[i]).toEqual([expect.stringMatching(message)]);
  });

  test.each(ALLOWED.map((c, i) => [...c, FORBIDDEN.length + i] as const))(
    '%s: %s passes',
    (_file, _source, i) => {
      expect(problems[i]).toEqual([]);
    },
  );
});
