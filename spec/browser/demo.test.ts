// The demo chat in Chromium: two people, rooms, presence, typing, dropped connections that recover with
// nothing lost, reloads, and the served client under a sub-path. Needs Debian's chromium (.ci/run installs it).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import express from 'express';
import { chromium, type Page } from 'playwright-core';
import { createDemoApp, type DemoApp } from '../../demo-app/app';
import { socketio } from '../../lib/index';
import { msgpackCodec } from '../../lib/msgpack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking'];
/** Every wait in this file is bounded by this (reconnecting after a 3 s cut fits well inside). */
const WAIT_MS = 15000;
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
const DOCS = join(__dirname, '../../docs');
// CI installs chromium (.ci/run): there a missing browser is a failure, not a skip
const skip = existsSync(CHROMIUM) || process.env.CI ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;

/** The slice of the page's DOM that the functions run in the page use (the project compiles without lib "dom"). */
interface PageNode {
  textContent: string | null;
}
declare const document: {
  querySelectorAll(selector: string): ArrayLike<PageNode> & Iterable<PageNode>;
  body: { dataset: Record<string, string | undefined> };
};

/** Console errors and uncaught exceptions of a page; emulated-offline network failures are expected. */
type PageErrors = string[];

interface Demo {
  url: string;
  demo: DemoApp;
  /** A page in a browser context of its own (its own cookies, so its own session). */
  newPage(): Promise<{ page: Page; errors: PageErrors }>;
}

/**
 * Closers run last-in first-out after the test: the browser, then io (its WebSocket sessions would
 * hold server.close()), then the HTTP server.
 */
function closers(t: TestContext): (close: () => unknown) => void {
  const stack: Array<() => unknown> = [];
  t.after(async () => {
    for (let close = stack.pop(); close; close = stack.pop()) await close();
  });
  return (close) => stack.push(close);
}

async function listenOn(onClose: (close: () => unknown) => void, app: express.Express): Promise<string> {
  const server = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  onClose(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Launches Chromium, closed before the servers. */
async function launch(onClose: (close: () => unknown) => void): Promise<{ newPage: Demo['newPage'] }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  onClose(() => browser.close());
  const newPage = async (): Promise<{ page: Page; errors: PageErrors }> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const errors: PageErrors = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().includes('net::ERR_INTERNET_DISCONNECTED')) errors.push(msg.text());
    });
    page.on('pageerror', (err) => errors.push(String(err)));
    return { page, errors };
  };
  return { newPage };
}

async function startDemo(t: TestContext): Promise<Demo> {
  const onClose = closers(t);
  const demo = createDemoApp({ logLevel: 'silent' });
  const url = await listenOn(onClose, demo.app);
  onClose(() => demo.close());
  const { newPage } = await launch(onClose);
  return { url, demo, newPage };
}

/** Opens the chat, picks a nickname, and waits until the page is connected and in #general. */
async function signIn(demo: Demo, nick: string): Promise<{ page: Page; errors: PageErrors }> {
  const opened = await demo.newPage();
  const { page } = opened;
  await page.goto(`${demo.url}/`);
  await page.getByLabel('Nickname', { exact: true }).fill(nick);
  await page.getByRole('button', { name: 'Start chatting' }).click();
  await page.waitForSelector('#status[data-state="connected"]');
  await page.waitForSelector('#room-title:text-is("#general")');
  await page.waitForSelector(`#members .member-name:text-is("${nick}")`);
  return opened;
}

/** Sends a message from the composer and waits for the server's ack (the line is no longer pending). */
async function say(page: Page, text: string): Promise<void> {
  await page.fill('#message', text);
  await page.press('#message', 'Enter');
  await page.waitForSelector(`#messages .msg.mine:not(.pending):not(.failed) .text:text-is("${text}")`);
}

/** The texts of the chat messages shown, in order. */
const messageTexts = (page: Page): Promise<string[]> =>
  page.$$eval('#messages .msg .text', (nodes) => nodes.map((n) => n.textContent ?? ''));

/** Waits until every one of `texts` is on the page. */
async function waitForTexts(page: Page, texts: string[]): Promise<void> {
  await page.waitForFunction(
    (want) => {
      const shown = [...document.querySelectorAll('#messages .msg .text')].map((n) => n.textContent);
      return want.every((w) => shown.includes(w));
    },
    texts,
    { timeout: WAIT_MS },
  );
}

/** With UPDATE_SCREENSHOTS=1, writes docs/<name>; `stage` sets the scene once the notices are gone. */
async function screenshot(page: Page, name: string, stage?: () => Promise<void>): Promise<void> {
  if (!UPDATE_SCREENSHOTS) return;
  await page.waitForFunction(() => document.querySelectorAll('#toasts .toast').length === 0, null, { timeout: WAIT_MS });
  await page.mouse.move(1, 1);
  if (stage) await stage();
  await page.screenshot({ path: join(DOCS, name) });
}

describe('demo chat in Chromium', { skip, timeout: 120_000 }, () => {
  test('two people chat in a room both ways and see presence, typing and room counts', async (t) => {
    const demo = await startDemo(t);
    const alice = await signIn(demo, 'alice');
    const a = alice.page;
    // the classic API (io.broadcastExcept from io.on('connect')): alice hears that bob came online
    const cameOnline = a.waitForSelector('#toasts .toast:text-is("bob came online")');
    const bob = await signIn(demo, 'bob');
    const b = bob.page;
    await cameOnline;
    await a.waitForSelector('#online:text-is("2 online")');

    // alice creates a room; bob sees it listed with one person, joins it from the list
    await a.getByLabel('New room', { exact: true }).fill('Lunch plans');
    await a.getByRole('button', { name: 'Create' }).click();
    await a.waitForSelector('#room-title:text-is("#lunch-plans")');
    await b.waitForSelector('#room-list button[data-room="lunch-plans"] .count:text-is("1")');
    await b.click('#room-list button[data-room="lunch-plans"]');
    await b.waitForSelector('#room-title:text-is("#lunch-plans")');
    await a.waitForSelector('#messages .system .text:text-is("bob joined")');
    await a.waitForSelector('#room-list button[data-room="lunch-plans"] .count:text-is("2")');
    for (const page of [a, b]) {
      await page.waitForFunction(
        () => [...document.querySelectorAll('#members .member-name')].map((n) => n.textContent).join() === 'alice,bob',
        null,
        { timeout: WAIT_MS },
      );
    }

    await say(a, 'Pizza at noon?');
    await waitForTexts(b, ['Pizza at noon?']);
    await say(b, 'Sounds great, I will bring drinks');
    await waitForTexts(a, ['Sounds great, I will bring drinks']);

    // typing: bob types, alice sees it; bob sends, the hint goes away
    await b.type('#message', 'See you t');
    await a.waitForSelector('#typing:text-is("bob is typing…")');
    await b.type('#message', 'here');
    await b.press('#message', 'Enter');
    await waitForTexts(a, ['See you there']);
    await a.waitForSelector('#typing:empty');

    assert.deepEqual(await messageTexts(a), ['Pizza at noon?', 'Sounds great, I will bring drinks', 'See you there']);
    assert.deepEqual(await messageTexts(b), ['Pizza at noon?', 'Sounds great, I will bring drinks', 'See you there']);

    // a wave goes through io.on('message') and conn.send
    await a.getByRole('button', { name: 'Wave at bob' }).click();
    await b.waitForSelector('#toasts .toast:text-is("alice waves at you")');

    await b.type('#message', 'Also: dessert');
    await a.waitForSelector('#typing:text-is("bob is typing…")');
    await screenshot(a, 'demo.png', async () => {
      await b.type('#message', ' for everyone');
      await a.waitForSelector('#typing:text-is("bob is typing…")');
    });
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  });

  test("the demo's control drops the connection and the page recovers every missed message once, in order", async (t) => {
    const demo = await startDemo(t);
    const alice = await signIn(demo, 'alice');
    const bob = await signIn(demo, 'bob');
    const a = alice.page;
    const b = bob.page;
    await say(a, 'before the cut');
    await waitForTexts(b, ['before the cut']);
    const recoveredBefore = demo.demo.io.metrics.recovered;

    await a.getByRole('button', { name: 'Drop connection for 3 s' }).click();
    await a.waitForSelector('#status[data-state="offline"]');
    // the server keeps alice's session: bob sees her as reconnecting, not gone
    await b.waitForSelector('#members .member.away .member-name:text-is("alice")');
    const missed = ['missed 1', 'missed 2', 'missed 3', 'missed 4', 'missed 5'];
    for (const text of missed) await say(b, text);
    // alice writes while offline too: the client buffers it and sends it once back
    await a.fill('#message', 'written while offline');
    await a.press('#message', 'Enter');

    await a.waitForSelector('#status[data-state="recovered"]');
    await waitForTexts(a, [...missed, 'written while offline']);
    await waitForTexts(b, ['written while offline']);
    await b.waitForSelector('#members .member:not(.away) .member-name:text-is("alice")');
    assert.equal(demo.demo.io.metrics.recovered, recoveredBefore + 1);

    const expectedA = ['before the cut', ...missed, 'written while offline'];
    assert.deepEqual(await messageTexts(a), expectedA);
    assert.deepEqual(await messageTexts(b), expectedA);
    assert.equal(await a.$$eval('#messages .system', (n) => n.filter((x) => x.textContent?.includes('alice')).length), 1, 'no leave/join lines for a recovered session');
    await screenshot(a, 'demo-recovered.png');
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  });

  test('the page recovers after the network drops (DevTools offline) with nothing lost or doubled', async (t) => {
    const demo = await startDemo(t);
    const alice = await signIn(demo, 'alice');
    const bob = await signIn(demo, 'bob');
    const a = alice.page;
    const b = bob.page;
    await say(b, 'hello');
    await waitForTexts(a, ['hello']);

    const cdp = await a.context().newCDPSession(a);
    const network = (offline: boolean): Promise<unknown> =>
      cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.send('Network.enable');
    await network(true);
    await a.waitForSelector('#status[data-state="offline"]');
    const missed = Array.from({ length: 8 }, (_, i) => `while offline ${i + 1}`);
    for (const text of missed) await say(b, text);
    await network(false);

    await a.waitForSelector('#status[data-state="recovered"]');
    await waitForTexts(a, missed);
    assert.deepEqual(await messageTexts(a), ['hello', ...missed]);
    await say(a, 'back');
    await waitForTexts(b, ['back']);
    assert.deepEqual(await messageTexts(b), ['hello', ...missed, 'back']);
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  });

  test('a reload keeps the nickname, the rooms and the history', async (t) => {
    const demo = await startDemo(t);
    const { page, errors } = await signIn(demo, 'carol');
    await page.getByLabel('New room', { exact: true }).fill('books');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForSelector('#room-title:text-is("#books")');
    await say(page, 'Reading Dune again');

    await page.reload();
    await page.waitForSelector('#status[data-state="connected"]');
    assert.equal(await page.textContent('#me'), 'carol');
    assert.equal(await page.isHidden('#login'), true);
    await page.click('#room-list button[data-room="books"]');
    await page.waitForSelector('#room-title:text-is("#books")');
    await waitForTexts(page, ['Reading Dune again']);
    assert.equal(await page.$$eval('#room-list button.joined', (n) => n.map((b) => b.dataset.room).join()), 'general,books');
    assert.deepEqual(errors, []);
  });

  const VARIANTS = [
    ['socket.io.min.js', 'a classic script'],
    ['socket.io.esm.min.js', 'an ES module'],
    ['socket.io.msgpack.min.js', 'the msgpack build'],
  ] as const;
  for (const [file, what] of VARIANTS) {
    test(`a page that loads ${file} from a sub-path connects with a bare io() (${what})`, async (t) => {
      const onClose = closers(t);
      const io = socketio(file.includes('msgpack') ? { codec: msgpackCodec() } : {});
      io.on('connection', (socket) => {
        socket.on('echo', (value: unknown, ack: (v: unknown) => void) => ack(value));
      });
      const app = express();
      const connectAndEcho = `
        const socket = io();
        socket.on('connect', async () => {
          const echoed = await socket.emitWithAck('echo', 'ping');
          document.body.dataset.result = [socket.io.opts.path, echoed].join(' ');
        });`;
      const page = file.includes('esm')
        ? `<script type="module">import { io } from '/deep/er/socket.io/${file}';${connectAndEcho}</script>`
        : `<script src="/deep/er/socket.io/${file}"></script><script>${connectAndEcho}</script>`;
      app.get('/deep/page.html', (_req, res) => {
        res.type('html').send(`<!doctype html><html lang="en"><head><title>sub-path</title><link rel="icon" href="data:,"></head><body>${page}</body></html>`);
      });
      app.use('/deep/er', io);
      const url = await listenOn(onClose, app);
      onClose(() => io.close());
      const { newPage } = await launch(onClose);
      const { page: p, errors } = await newPage();
      await p.goto(`${url}/deep/page.html`);
      await p.waitForFunction(() => document.body.dataset.result !== undefined, null, { timeout: WAIT_MS });
      assert.equal(await p.evaluate(() => document.body.dataset.result), '/deep/er/socket.io/ ping');
      assert.deepEqual(errors, []);
    });
  }
});
