/**
 * `npm run bench`: runs every bench/*.bench.ts in its own process, one after another, so
 * one benchmark's load never skews another's figures. `npm run bench -- proxy` runs only
 * the files whose name contains "proxy".
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

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

let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(benchDir, file)], {
    stdio: 'inherit',
    cwd: path.resolve(benchDir, '..'),
  });
  if (result.status !== 0) {
    failed += 1;
    console.log(`--- ${file} exited with ${result.status ?? result.signal}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
