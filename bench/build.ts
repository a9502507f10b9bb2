// Compiles lib/ and bench/ as they are now into bench/.build, so the measured processes run plain
// JavaScript (no TypeScript loader thread in their CPU or memory figures): lib/ with tsc and the package's
// own build settings (the code users run, as in dist/), bench/ with esbuild; both with source maps.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';

function walk(dir: string, out: string[]): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === '.build' || entry.name === 'results' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/**
 * Compiles into `<root>/bench/.build`; returns tsc's complaints about lib/ (it emits anyway, so a file
 * someone is in the middle of editing does not stop the benchmark).
 */
export async function compile(root: string): Promise<string[]> {
  const outdir = join(root, 'bench', '.build');
  rmSync(outdir, { recursive: true, force: true });
  const tsc = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(outdir, 'lib'), '--declaration', 'false'],
    { cwd: root, encoding: 'utf8' },
  );
  const complaints = tsc.status === 0 ? [] : `${tsc.stdout}${tsc.stderr}`.split('\n').filter((l) => l.includes('error'));
  const entryPoints = walk(join(root, 'bench'), []);
  await build({
    entryPoints,
    outdir,
    outbase: root,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    bundle: false,
    logLevel: 'warning',
  });
  return complaints;
}

/** Where the compiled copy of a source file lives. */
export function compiledPath(root: string, source: string): string {
  return join(root, 'bench', '.build', relative(root, source)).replace(/\.ts$/, '.js');
}
