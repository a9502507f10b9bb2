// Runs node:test over every `*.test.*` file below the given folders (Node 20's --test does not expand globs).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const folders = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
const useTsx = !flags.includes('--no-tsx');
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.test\.(ts|mjs|js)$/.test(name)) files.push(path);
  }
};
for (const folder of folders) walk(folder);
if (files.length === 0) {
  console.error(`no test files under ${folders.join(', ')}`);
  process.exit(1);
}
const nodeArgs = [...(useTsx ? ['--import', 'tsx'] : []), '--test', '--test-concurrency=2', ...files];
const result = spawnSync(process.execPath, nodeArgs, { stdio: 'inherit' });
process.exit(result.status ?? 1);
