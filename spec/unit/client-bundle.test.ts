// patchForMount: the mount path lands in the script as a safe string literal, and the script stays valid.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import vm from 'node:vm';
import { patchForMount } from '../../lib/express/client-bundle';

/** A stand-in UMD bundle: a global lookup that reports the options it was called with. */
const UMD = 'globalThis.io=function(uri,opts){return{uri:uri,opts:opts}};globalThis.io.Manager=1;\n//# sourceMappingURL=x.js.map\n';

test('escapes a hostile mount path into a plain string literal', () => {
  const mount = '/a"</script><script>alert(1)</script>\u2028\\/socket.io/';
  const patched = patchForMount(UMD, 'socket.io.js', mount);
  assert.doesNotMatch(patched, /<\/script>/);
  assert.doesNotMatch(patched, /\u2028/);
  const sandbox: Record<string, unknown> = {};
  vm.runInNewContext(patched, sandbox);
  const io = sandbox.io as (o?: object) => { opts: { path: string } };
  assert.equal(io().opts.path, mount);
  assert.equal(io({ path: '/mine/' }).opts.path, '/mine/');
});

test('copies the caller options instead of changing them', () => {
  const sandbox: Record<string, unknown> = {};
  vm.runInNewContext(patchForMount(UMD, 'socket.io.js', '/m/socket.io/'), sandbox);
  const opts = { reconnection: false };
  const io = sandbox.io as (o: object) => { opts: { path: string; reconnection: boolean } };
  const got = io(opts);
  assert.equal(JSON.stringify(got.opts), '{"reconnection":false,"path":"/m/socket.io/"}'); // another realm's object
  assert.deepEqual(opts, { reconnection: false });
});

test('puts the snippet after the code and before the sourceMappingURL comment', () => {
  const patched = patchForMount(UMD, 'socket.io.js', '/m/socket.io/');
  assert.ok(patched.startsWith(UMD.slice(0, UMD.indexOf('\n//#'))));
  assert.match(patched, /\n\/\/# sourceMappingURL=x\.js\.map\n$/);
});

test('leaves an ESM build it does not recognise unchanged', () => {
  const source = 'const a=1;export default a;\n';
  assert.equal(patchForMount(source, 'socket.io.esm.min.js', '/m/socket.io/'), source);
  const noIo = 'const a=1;export{a as b};\n';
  assert.equal(patchForMount(noIo, 'socket.io.esm.min.js', '/m/socket.io/'), noIo);
});
