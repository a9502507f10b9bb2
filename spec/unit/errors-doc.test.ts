// Keeps docs/errors.md and lib/errors.ts's ERROR_CODES in step, both ways (as fastify's errors test does).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES } from '../../lib/errors';

const doc = readFileSync(join(__dirname, '../../docs/errors.md'), 'utf8');
const codes = Object.keys(ERROR_CODES);

/** Codes that head a row of the codes table: lines starting `| \`ERR_…\` |`. */
const documented = [...doc.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);

/** Every `ERR_…` token anywhere in the page (a `WS_ERR_…` of ws is no token of ours). */
const mentioned = new Set([...doc.matchAll(/(?<![A-Za-z0-9_])ERR_[A-Z0-9_]+/g)].map((m) => m[0]));

test('documents every code of ERROR_CODES in a row of the docs/errors.md table', () => {
  const missing = codes.filter((code) => !documented.includes(code));
  assert.deepEqual(missing, [], `add a row to docs/errors.md for: ${missing.join(', ')}`);
});

test('documents each code in one row only', () => {
  const repeated = documented.filter((code, i) => documented.indexOf(code) !== i);
  assert.deepEqual(repeated, []);
});

test('mentions no ERR_ code in docs/errors.md that ERROR_CODES lacks', () => {
  const unknown = [...mentioned].filter((code) => !Object.hasOwn(ERROR_CODES, code));
  assert.deepEqual(unknown, [], `docs/errors.md names codes lib/errors.ts does not have: ${unknown.join(', ')}`);
});

test('finds the table at all (the row pattern still matches the page)', () => {
  assert.ok(documented.length >= codes.length, `only ${documented.length} rows matched`);
});
