// The built package as users load it: ESM and CommonJS, by path and through package.json "exports",
// with its .d.ts files. Runs after `npm run build` (npm run test:package), without tsx.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

/** What every build must export, per entry point. */
const ENTRIES = [
  {
    name: 'express-socket.io',
    esm: '../../dist/esm/index.mjs',
    cjs: '../../dist/index.js',
    factory: 'socketio',
    names: ['socketio', 'engine', 'EngineServer', 'EngineSocket', 'SocketIOError', 'ERROR_CODES', 'EngineErrorCode'],
  },
  {
    name: 'express-socket.io/engine',
    esm: '../../dist/esm/engine-io.mjs',
    cjs: '../../dist/engine-io.js',
    factory: 'engine',
    names: ['engine', 'EngineServer', 'EngineSocket', 'SocketIOError', 'ERROR_CODES', 'EngineErrorCode'],
  },
];

const exportedNames = (mod) => Object.keys(mod).filter((n) => n !== 'default' && n !== '__esModule').sort();

for (const entry of ENTRIES) {
  describe(entry.name, () => {
    test('imports as ESM by path with every name of the CommonJS build', async () => {
      const esm = await import(entry.esm);
      const cjs = require(entry.cjs);
      for (const name of entry.names) assert.notEqual(esm[name], undefined, name);
      assert.deepEqual(exportedNames(esm), exportedNames(cjs));
      // one implementation behind both faces: no dual-package hazard
      for (const name of exportedNames(cjs)) assert.equal(esm[name], cjs[name], name);
      assert.equal(esm.default, cjs);
    });

    test('requires as CommonJS by path', () => {
      const cjs = require(entry.cjs);
      for (const name of entry.names) assert.notEqual(cjs[name], undefined, name);
      assert.equal(typeof cjs[entry.factory], 'function');
    });

    test('resolves by package name through the "exports" map, for import and require', async () => {
      const esm = await import(entry.name);
      const cjs = require(entry.name);
      assert.equal(esm[entry.factory], (await import(entry.esm))[entry.factory]);
      assert.equal(cjs, require(entry.cjs));
      assert.equal(esm[entry.factory], cjs[entry.factory]);
      const conditions = pkg.exports[entry.name === pkg.name ? '.' : `./${entry.name.slice(pkg.name.length + 1)}`];
      assert.equal(require.resolve(entry.name), fileURLToPath(new URL(conditions.require, new URL('../../', import.meta.url))));
      assert.equal(import.meta.resolve(entry.name), new URL(conditions.import, new URL('../../', import.meta.url)).href);
    });

    test('ships the .d.ts the "types" condition names, declaring the factory', () => {
      const conditions = pkg.exports[entry.name === pkg.name ? '.' : `./${entry.name.slice(pkg.name.length + 1)}`];
      const types = new URL(conditions.types, new URL('../../', import.meta.url));
      assert.ok(existsSync(types), conditions.types);
      assert.match(readFileSync(types, 'utf8'), new RegExp(`export declare function ${entry.factory}\\b`));
      assert.ok(existsSync(new URL(conditions.import, new URL('../../', import.meta.url))), conditions.import);
      assert.ok(existsSync(new URL(conditions.require, new URL('../../', import.meta.url))), conditions.require);
    });
  });
}

describe('package.json', () => {
  test('points main and types at files the build wrote', () => {
    assert.ok(existsSync(`${root}${pkg.main}`), pkg.main);
    assert.ok(existsSync(`${root}${pkg.types}`), pkg.types);
    assert.equal(require.resolve('express-socket.io/package.json'), `${root}package.json`);
  });

  test('keeps internals private: deep imports are not exported', async () => {
    assert.throws(() => require('express-socket.io/dist/index.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
    await assert.rejects(import('express-socket.io/dist/engine/server.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  });
});

describe('the built middleware', () => {
  for (const [specifier, factory, path] of [
    ['express-socket.io', 'socketio', '/socket.io/'],
    ['express-socket.io/engine', 'engine', '/engine.io/'],
  ]) {
    test(`${specifier}: ${factory}() answers a polling handshake as a bare http handler`, async (t) => {
      const mod = await import(specifier);
      const io = mod[factory]();
      t.after(() => io.close());
      assert.equal(typeof io.attach, 'function');
      assert.equal(typeof io.on, 'function');
      const server = http.createServer((req, res) => io(req, res));
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise((resolve) => server.close(resolve)));
      const { port } = server.address();
      const res = await fetch(`http://127.0.0.1:${port}${path}?EIO=4&transport=polling`, { signal: AbortSignal.timeout(3000) });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /^0\{"sid":"[\w-]+"/);
      const other = await fetch(`http://127.0.0.1:${port}/other`, { signal: AbortSignal.timeout(3000) });
      assert.equal(other.status, 404);
    });
  }
});
