// JSONP polling over raw HTTP (PROTOCOL.md §1.10): every exchange goes to the official engine.io (which still
// serves JSONP on EIO=4) and to ours, and the answers must be identical byte for byte.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { EngineOptions } from '../../lib/options';
import { answer, heldGet, openPolling, startBoth, type Answer, type AnySession, type Target } from '../support/official-engine';
import { once } from '../support/wait';

/** Runs `scenario` on the official server and on ours; asserts equal transcripts and returns the official one. */
async function sameOnBoth<T>(t: TestContext, scenario: (target: Target) => Promise<T>, opts: EngineOptions = {}): Promise<T> {
  const [official, ours] = await startBoth(t, opts);
  const expected = await scenario(official);
  assert.deepEqual(await scenario(ours), expected);
  return expected;
}

const JSONP_HEADERS = { 'content-type': 'text/plain; charset=UTF-8', 'cache-control': 'no-store' };
const POST_OK = { status: 200, headers: { 'content-type': 'text/html', 'content-length': '2', 'cache-control': 'no-store' }, body: 'ok' };
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

function plain(a: Answer): { status: number; headers: Record<string, string>; body: string } {
  return { status: a.status, headers: a.headers, body: a.body };
}

/** A JSONP session (j=0 on the handshake): the sid is read out of the callback. */
async function openJsonp(target: Target, j = '0'): Promise<{ sid: string; session: AnySession; url: string; handshake: Answer }> {
  const connection = once<[AnySession]>(target.engine, 'connection');
  const handshake = await answer(`${target.base}?EIO=4&transport=polling&j=${encodeURIComponent(j)}`);
  const match = /"sid\\":\\"([^\\]+)\\"/.exec(handshake.body);
  assert.ok(match, handshake.body);
  return { sid: match[1], session: (await connection)[0], url: `${target.base}?EIO=4&transport=polling&sid=${match[1]}`, handshake };
}

/**
 * What engine.io-client ≤ 3 does to a payload before putting it in its form's textarea: each two-char `\n`
 * becomes `\` + LF, then every LF becomes the two chars `\n` (so `\n` ends up as `\\n`).
 */
function escapeLikeOldJsonpClient(payload: string): string {
  return payload.replace(/\\n/g, '\\\n').replace(/\n/g, '\\n');
}

describe('JSONP polling, as the official server', () => {
  test('answers a handshake with j=0 as ___eio[0]("0{...}"); with the polling headers', async (t) => {
    const official = await sameOnBoth(t, async (target) => {
      const { sid, handshake } = await openJsonp(target);
      const body = handshake.body.replace(sid, 'SID');
      // sids are opaque and ours are one character longer
      const length = String(Number(handshake.headers['content-length']) - sid.length);
      return { status: handshake.status, headers: { ...handshake.headers, 'content-length': length }, body };
    });
    const body =
      '___eio[0]("0{\\"sid\\":\\"SID\\",\\"upgrades\\":[\\"websocket\\"],\\"pingInterval\\":25000,\\"pingTimeout\\":20000,\\"maxPayload\\":1000000}");';
    assert.deepEqual(official, { status: 200, headers: { ...JSONP_HEADERS, 'content-length': String(Buffer.byteLength(body) - 3) }, body });
  });

  test('keeps the session JSONP on later GETs without j', async (t) => {
    const official = await sameOnBoth(t, async (target) => {
      const { session, url } = await openJsonp(target);
      session.send('hello');
      return plain(await answer(url));
    });
    assert.deepEqual(official, { status: 200, headers: { ...JSONP_HEADERS, 'content-length': '20' }, body: '___eio[0]("4hello");' });
  });

  test('writes U+2028, U+2029, </script>, the separator and binary like the official server', async (t) => {
    const event = JSON.stringify(['weird', 'line1\nline2\u2028\u2029</script>\x1e"q"\\n']);
    const official = await sameOnBoth(t, async (target) => {
      const { session, url } = await openJsonp(target);
      session.send(`2${event}`);
      session.send('51-["bin",{"_placeholder":true,"num":0}]');
      session.send(Buffer.from([1, 2, 3]) as unknown as string);
      return plain(await answer(url));
    });
    // the capture of PROTOCOL.md §1.10, with our second packet
    assert.equal(
      official.body,
      '___eio[0]("42[\\"weird\\",\\"line1\\\\nline2\\u2028\\u2029</script>\\\\u001e\\\\\\"q\\\\\\"\\\\\\\\n\\"]' +
        '\\u001e451-[\\"bin\\",{\\"_placeholder\\":true,\\"num\\":0}]\\u001ebAQID");',
    );
  });

  test('strips non-digits from j: j=alert(1)// gives ___eio[1](', async (t) => {
    for (const [j, head] of [
      ['alert(1)//', '___eio[1]('],
      ['', '___eio[]('],
      ['12', '___eio[12]('],
    ]) {
      const official = await sameOnBoth(t, async (target) => {
        const { session, url } = await openJsonp(target, j);
        session.send('x');
        return plain(await answer(url));
      });
      assert.equal(official.body, `${head}"4x");`, JSON.stringify(j));
    }
  });

  test('answers a POST of d=<urlencoded payload> with ok and delivers its packets', async (t) => {
    const official = await sameOnBoth(t, async (target) => {
      const { session, url } = await openJsonp(target);
      const messages: unknown[] = [];
      session.on('message', (m: unknown) => messages.push(m));
      const body = new URLSearchParams({ d: '4hello wörld & more\x1e4+plus\x1ebAQID' }).toString();
      const post = await answer(url, { method: 'POST', headers: FORM, body });
      return { post: plain(post), messages };
    });
    assert.deepEqual(official, { post: POST_OK, messages: ['hello wörld & more', '+plus', Buffer.from([1, 2, 3])] });
  });

  test('undoes the old client newline escaping: d=42["say","a\\\\nb"] is delivered as 42["say","a\\nb"]', async (t) => {
    const packets = ['42["say","a\\nb"]', '4line1\nline2', '4back\\\\slash'];
    const official = await sameOnBoth(t, async (target) => {
      const { session, url } = await openJsonp(target);
      const messages: unknown[] = [];
      session.on('message', (m: unknown) => messages.push(m));
      const escaped = escapeLikeOldJsonpClient(packets.join('\x1e'));
      const post = await answer(url, { method: 'POST', headers: FORM, body: new URLSearchParams({ d: escaped }).toString() });
      return { escaped, post: plain(post), messages };
    });
    assert.equal(official.escaped.split('\x1e')[0], '42["say","a\\\\nb"]');
    assert.deepEqual(official.messages, ['2["say","a\\nb"]', 'line1\nline2', 'back\\\\slash']);
    assert.deepEqual(JSON.parse((official.messages[0] as string).slice(1)), ['say', 'a\nb']);
  });

  test('ignores a POST without d, or with d twice (still ok)', async (t) => {
    const official = await sameOnBoth(t, async (target) => {
      const { session, url } = await openJsonp(target);
      const messages: unknown[] = [];
      session.on('message', (m: unknown) => messages.push(m));
      const without = await answer(url, { method: 'POST', headers: FORM, body: 'x=4nothing' });
      const twice = await answer(url, { method: 'POST', headers: FORM, body: 'd=4a&d=4b' });
      const marker = await answer(url, { method: 'POST', headers: FORM, body: 'd=4marker' });
      return { posts: [without, twice, marker].map(plain), messages, open: session.readyState };
    });
    assert.deepEqual(official, { posts: [POST_OK, POST_OK, POST_OK], messages: ['marker'], open: 'open' });
  });

  test('answers a POST with Content-Type application/octet-stream with an empty 400 and closes the session', async (t) => {
    const official = await sameOnBoth(t, async (target) => {
      const { session, url } = await openJsonp(target);
      const closed = once<[string]>(session, 'close');
      const post = await answer(url, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: 'd=4x' });
      return { status: post.status, body: post.body, reason: (await closed)[0] };
    });
    assert.deepEqual(official, { status: 400, body: '', reason: 'transport error' });
  });

  test('wraps the noop and close packets too', async (t) => {
    const official = await sameOnBoth(t, async (target) => {
      const { session, url } = await openJsonp(target);
      const held = await heldGet(session, url);
      const post = await answer(url, { method: 'POST', headers: FORM, body: 'd=1' });
      const released = plain(await held.answered);
      return { post: plain(post), released };
    });
    assert.equal(official.released.body, '___eio[0]("6");');

    const closing = await sameOnBoth(t, async (target) => {
      const { session, url } = await openJsonp(target);
      session.close();
      return plain(await answer(url));
    });
    assert.equal(closing.body, '___eio[0]("6\\u001e1");');
  });

  test('is a plain polling session when the handshake has no j, whatever later requests carry', async (t) => {
    const official = await sameOnBoth(t, async (target) => {
      const { session, url } = await openPolling(target);
      session.send('x');
      return plain(await answer(`${url}&j=0`));
    });
    assert.equal(official.body, '4x');
  });
});
