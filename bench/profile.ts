// Reads a V8 .cpuprofile of our server: self time per function (mapped back to lib/*.ts through the
// build's source maps), inclusive time of lib/ functions, and the share of each area (lib, ws, express, GC…).
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  /** lib/… .ts file and line (through the source map), or the package / script. */
  location: string;
  area: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  /** Sampled time without (idle), ms. */
  totalMs: number;
  areas: Array<{ area: string; ms: number; percent: number }>;
  /** Functions of lib/ by self time. */
  lib: FunctionTime[];
  /** Functions of lib/ by inclusive time (callees in any area counted). */
  libInclusive: FunctionTime[];
  /** Every function by self time (top 40). */
  top: FunctionTime[];
}

const maps = new Map<string, SourceMap | undefined>();

function sourceMapFor(path: string): SourceMap | undefined {
  if (!maps.has(path)) {
    const file = `${path}.map`;
    maps.set(path, existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8')) as never) : undefined);
  }
  return maps.get(path);
}

function pathOf(url: string): string {
  return url.startsWith('file://') ? fileURLToPath(url) : url;
}

function areaOf(frame: CallFrame, root: string): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)' || functionName === '(root)') return 'native (program)';
    if (functionName === '(idle)') return 'idle';
    return 'V8 builtins';
  }
  if (url.startsWith('node:')) return 'node core';
  const path = pathOf(url);
  if (path.includes('/bench/.build/lib/')) return 'lib';
  if (path.includes('/bench/.build/bench/')) return 'bench server file';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (pkg) return pkg[1];
  return relative(root, path) || path;
}

function locationOf(frame: CallFrame, root: string, area: string): string {
  if (area !== 'lib') {
    if (!frame.url) return '';
    const path = pathOf(frame.url);
    return area.startsWith('node') ? `${frame.url}:${frame.lineNumber + 1}` : `${area}/${path.split(`/node_modules/${area}/`)[1] ?? ''}:${frame.lineNumber + 1}`;
  }
  const path = pathOf(frame.url);
  const entry = sourceMapFor(path)?.findEntry(frame.lineNumber, frame.columnNumber) as
    | { originalSource?: string; originalLine?: number }
    | undefined;
  if (entry?.originalSource) {
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : resolve(dirname(path), entry.originalSource);
    return `${relative(root, source)}:${(entry.originalLine ?? 0) + 1}`;
  }
  return `${relative(root, path)}:${frame.lineNumber + 1}`;
}

export function summarizeProfile(file: string, root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const keyOf = new Map<number, { key: string; name: string; location: string; area: string }>();
  for (const node of profile.nodes) {
    const area = areaOf(node.callFrame, root);
    const location = locationOf(node.callFrame, root, area);
    const name = node.callFrame.functionName || '(anonymous)';
    keyOf.set(node.id, { key: `${name}@${location}@${area}`, name, location, area });
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const info = keyOf.get(id);
    if (!info || info.area === 'idle' || dt <= 0) continue;
    total += dt;
    self.set(info.key, (self.get(info.key) ?? 0) + dt);
    areas.set(info.area, (areas.get(info.area) ?? 0) + dt);
    // inclusive: each lib function on the stack once
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const k = keyOf.get(n);
      if (!k || k.area !== 'lib' || seen.has(k.key)) continue;
      seen.add(k.key);
      inclusive.set(k.key, (inclusive.get(k.key) ?? 0) + dt);
    }
  }
  const infoByKey = new Map<string, { name: string; location: string; area: string }>();
  for (const v of keyOf.values()) infoByKey.set(v.key, v);
  const list = (m: Map<string, number>, filter: (area: string) => boolean, limit: number): FunctionTime[] =>
    [...m.entries()]
      .map(([key, ms]) => ({ ...(infoByKey.get(key) as { name: string; location: string; area: string }), selfMs: ms, percent: (100 * ms) / total }))
      .filter((f) => filter(f.area))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, limit);
  return {
    totalMs: total,
    areas: [...areas.entries()].map(([area, ms]) => ({ area, ms, percent: (100 * ms) / total })).sort((a, b) => b.ms - a.ms),
    lib: list(self, (a) => a === 'lib', 40),
    libInclusive: list(inclusive, (a) => a === 'lib', 40),
    top: list(self, () => true, 40),
  };
}
