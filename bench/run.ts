/**
 * `npm run bench`: runs every bench/*.bench.ts in its own process, one after another, so
 * one benchmark's load never skews another's figures. `npm run bench -- proxy` runs only
 * the files whose name contains "proxy". Each benchmark's output is shown as it comes; its
 * goal lines are repeated at the end, so the verdict of the whole run reads in one place.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { GOAL_PREFIX } from './goals';

const filters = process.argv.slice(2);
const benchDir = __dirname;
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((needle) => f.includes(needle)))
  .sort();

if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}`);
  process.exit(1);
}

/** Runs one benchmark, passing its output through; resolves with its exit and its goal lines. */
function runBench(file: string): Promise<{ exit: string | number; goals: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(benchDir, file)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: path.resolve(benchDir, '..'),
    });
    const goals: string[] = [];
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (line.startsWith(GOAL_PREFIX)) goals.push(line);
    });
    child.on('close', (code, signal) => {
      if (partial.startsWith(GOAL_PREFIX)) goals.push(partial);
      resolve({ exit: code ?? signal ?? 'unknown', goals });
    });
  });
}

async function main(): Promise<void> {
  let failed = 0;
  const verdicts: string[] = [];
  for (const file of files) {
    console.log(`\n=== ${file}`);
    const { exit, goals } = await runBench(file);
    if (exit !== 0) {
      failed += 1;
      console.log(`--- ${file} exited with ${exit}`);
    }
    verdicts.push(
      ...goals.map((line) => `${file.replace('.bench.ts', '')}: ${line.slice(GOAL_PREFIX.length)}`),
    );
  }
  if (verdicts.length > 0) {
    const met = verdicts.filter((line) => line.endsWith(', met')).length;
    console.log(`\n=== goals: ${met} of ${verdicts.length} met`);
    for (const line of verdicts) console.log(`  ${line}`);
  }
  process.exit(failed === 0 ? 0 : 1);
}

void main();
