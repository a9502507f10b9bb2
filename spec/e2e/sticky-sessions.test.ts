// Several nodes without sticky sessions (docs/scaling.md): a sid of another node is refused 400 code 1 and
// logged once per interval with the hint; behind a round-robin balancer polling breaks, WebSocket-only does not.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { after, describe, test, type TestContext } from 'node:test';
import { FOREIGN_SID_HINT } from '../../lib/engine/server';
import { assertNoCrash, httpRequest, pollingSession, rawUpgrade, startTarget, warnsWith, watchCrashes, type Target } from '../support/attack';
import { connected, connectIo, openIo, until } from '../support/io';
import { listen } from '../support/server';

watchCrashes();
after(assertNoCrash);

const UNKNOWN_SID = { code: 1, message: 'Session ID unknown' };

/** Lines of `node` for the unknown sid `sid` (each node has a log sink of its own). */
function linesFor(node: Target, sid: string): Array<Record<string, unknown>> {
  return warnsWith(node.sink, 'ERR_UNKNOWN_SID').filter((line) => line.sid === sid);
}

/**
 * A load balancer without stickiness: each HTTP request, and each upgrade's TCP connection, goes to the
 * next node in turn.
 */
async function roundRobin(t: TestContext, ports: number[]): Promise<string> {
  let next = 0;
  const pick = (): number => ports[next++ % ports.length];
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: '127.0.0.1', port: pick(), method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const upstream = net.connect(pick(), '127.0.0.1');
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
    upstream.write(head);
    socket.pipe(upstream).pipe(socket);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    t.after(() => upstream.destroy());
  });
  return (await listen(t, server)).url;
}

describe('a sid this node does not know', () => {
  test('is refused 400 code 1, and logged once per interval with ERR_UNKNOWN_SID and the sticky-sessions hint', async (t) => {
    const [nodeA, nodeB] = [await startTarget(t), await startTarget(t)];
    let errors = 0;
    nodeB.io.engine.on('connection_error', () => errors++);
    const { sid } = await pollingSession(nodeA.url);
    const onB = `${nodeB.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;

    const get = await httpRequest(onB);
    assert.equal(get.status, 400);
    assert.deepEqual(JSON.parse(get.body), UNKNOWN_SID);
    const post = await httpRequest(onB, { method: 'POST', body: '40' });
    assert.deepEqual([post.status, JSON.parse(post.body)], [400, UNKNOWN_SID]);
    const upgrade = await rawUpgrade(t, nodeB.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    assert.deepEqual([upgrade.status, upgrade.body], [400, 'Session ID unknown']);
    for (let i = 0; i < 20; i++) assert.equal((await httpRequest(onB)).status, 400);
    // the marker: a malformed sid is logged every time, after everything above
    assert.equal((await httpRequest(`${nodeB.url}/socket.io/?EIO=4&transport=polling&sid=not%20a%20sid`)).status, 400);
    await until(() => warnsWith(nodeB.sink, 'ERR_UNKNOWN_SID').some((line) => line.sid === 'malformed'), 3000, 'the marker line');

    const lines = linesFor(nodeB, sid);
    assert.equal(lines.length, 1, JSON.stringify(warnsWith(nodeB.sink, 'ERR_UNKNOWN_SID')));
    assert.equal(lines[0].hint, FOREIGN_SID_HINT);
    assert.match(String(lines[0].hint), /sticky sessions needed, see docs\/scaling\.md/);
    assert.deepEqual([lines[0].suppressed, lines[0].method, lines[0].remoteAddress], [0, 'GET', '127.0.0.1']);
    // the malformed one carries no hint: it is no other node's
    assert.equal(warnsWith(nodeB.sink, 'ERR_UNKNOWN_SID').find((line) => line.sid === 'malformed')?.hint, undefined);
    // every refusal is still counted and reported as an event
    assert.equal(nodeB.io.engine.metrics.ERR_UNKNOWN_SID, 24);
    assert.equal(errors, 24);
    // node A's session was not touched
    assert.deepEqual(nodeA.sink.lines, []);
    assert.equal(nodeA.io.engine.clients.has(sid), true);
  });
});

describe('several nodes behind a balancer that is not sticky', () => {
  test('a polling client fails (one node logs the hint with its sid), a WebSocket-only client needs no stickiness', async (t) => {
    const nodes = [await startTarget(t), await startTarget(t)];
    const url = await roundRobin(t, nodes.map((n) => n.port));

    const polling = openIo(t, url, ['polling']);
    await assert.rejects(connected(polling, 5000));
    await until(() => nodes.some((node) => warnsWith(node.sink, 'ERR_UNKNOWN_SID').length > 0), 3000, 'an unknown-sid line');
    const hinted = nodes.flatMap((node) => warnsWith(node.sink, 'ERR_UNKNOWN_SID'));
    assert.equal(hinted.length, 1, JSON.stringify(hinted));
    assert.equal(hinted[0].hint, FOREIGN_SID_HINT);
    // the sid one node handed out at the handshake, refused by the other
    assert.match(String(hinted[0].sid), /^[A-Za-z0-9_-]{20}$/);

    // each WebSocket-only client is one TCP connection, so it stays on the node it reached; two clients, two nodes
    const clients = [await connectIo(t, url, ['websocket']), await connectIo(t, url, ['websocket'])];
    for (const [i, client] of clients.entries()) assert.equal(await client.timeout(2000).emitWithAck('echo', i), i);
    assert.deepEqual(
      nodes.map((node) => node.io.of('/').sockets.size),
      [1, 1],
    );
  });
});
