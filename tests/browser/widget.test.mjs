// End-to-end tests of the chat widget in headless Chromium against the real local host.
// Run: EDGEDESK_HOST_BIN=… EDGEDESK_COMPONENT=… node --test   (from tests/browser, after
// `npm ci` and a widget build). Screenshots go to target/browser-artifacts/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Host, launchBrowser, openPage, shadow, widgetReady, configLoaded, messageTexts,
  waitForMessage, screenshot, sendFromWidget, identityHash, sleep,
} from './harness.mjs';

let host;
let browser;

before(async () => {
  host = await Host.start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await host?.stop();
});

const demo = (page, tenant, extra = '') => `${host.base}/demo/${page}?tenant=${tenant}${extra}`;

/** Opens the demo page for a tenant, waits for the widget and its config, opens the panel. */
async function visitor(api, name, { page: file = 'index.html', extra = '', context, beforeGoto } = {}) {
  const v = await openPage(browser, demo(file, api.tenant, extra), { context, beforeGoto });
  await widgetReady(v.page);
  await configLoaded(v.page, name);
  await shadow(v.page, 'button.l').click();
  return v;
}

test('nothing is fetched or run before the page has loaded and gone idle', async () => {
  const api = await host.tenant('Idle Shop');
  const { context, page, problems } = await openPage(browser, null, {
    beforeGoto: async (p) => {
      // A page whose load event waits 1.5 s for an image.
      await p.route((u) => u.pathname === '/demo/slow-load.html', (r) => r.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><html><head><link rel="icon" href="data:,"><script src="demo.js"></script></head>'
          + '<body><p>Slow page</p><img src="/demo/slow.png" alt=""></body></html>',
      }));
      await p.route((u) => u.pathname === '/demo/slow.png', async (r) => {
        await sleep(1500);
        await r.fulfill({ contentType: 'image/gif', body: Buffer.from('R0lGODlhAQABAAAAACw=', 'base64') });
      });
    },
  });
  const early = [];
  page.on('request', (r) => {
    if (/edgedesk_widget/.test(r.url())) early.push({ url: r.url(), at: Date.now() });
  });
  let loadedAt = 0;
  page.on('load', () => { loadedAt = Date.now(); });
  await page.goto(demo('slow-load.html', api.tenant), { waitUntil: 'commit' });
  await page.waitForFunction(() => window.EdgeDesk !== undefined);
  assert.notEqual(await page.evaluate(() => document.readyState), 'complete', 'the page is still loading');
  // Calls before the widget exists are queued and replayed.
  await page.evaluate(() => window.EdgeDesk.open());
  assert.equal(early.length, 0, `no glue or wasm request before load: ${JSON.stringify(early)}`);
  await widgetReady(page);
  const timing = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const glue = performance.getEntriesByType('resource').find((e) => /edgedesk_widget-.*\.js/.test(e.name));
    const wasm = performance.getEntriesByType('resource').find((e) => /\.wasm/.test(e.name));
    return { loadEnd: nav.loadEventEnd, glue: glue?.startTime, wasm: wasm?.startTime };
  });
  assert.ok(timing.glue > timing.loadEnd, `glue fetched after load: ${JSON.stringify(timing)}`);
  assert.ok(timing.wasm > timing.loadEnd, `wasm fetched after load: ${JSON.stringify(timing)}`);
  assert.ok(loadedAt > 0 && early.every((r) => r.at >= loadedAt), 'every widget request after load');
  await shadow(page, '.p').waitFor({ state: 'visible' });
  assert.deepEqual(problems, []);
  await context.close();
});

// The 100 ms budget is a benchmark figure printed here, not asserted: a loaded CI machine must
// not turn a timing into a red build. What is asserted is that the widget becomes interactive.
test('the widget becomes interactive after the loader starts fetching, and the time is reported', async (t) => {
  const api = await host.tenant('Fast Shop');
  const samples = [];
  for (let i = 0; i < 3; i++) {
    const { context, page } = await openPage(browser, demo('index.html', api.tenant));
    samples.push(await widgetReady(page));
    await configLoaded(page, 'Fast Shop');
    await context.close();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[1];
  const verdict = median <= 100 ? 'within' : 'OVER';
  t.diagnostic(`interactive after the loader starts fetching (cold cache, 3 loads): ${samples.map((s) => s.toFixed(1)).join(', ')} ms; median ${median.toFixed(1)} ms, ${verdict} the 100 ms budget`);
  assert.ok(samples.every((s) => Number.isFinite(s) && s >= 0), `bad samples ${samples}`);
});

// One conversation, followed through several tests.
const shop = {};

test('a visitor message reaches the agent API and an agent reply appears within a second', async (t) => {
  shop.api = await host.tenant('Acme');
  const v = await visitor(shop.api, 'Acme');
  shop.visitor = v;
  const { page } = v;
  const replies = [];
  await page.evaluate(() => {
    window.__events = [];
    window.EdgeDesk.on('message', (m) => window.__events.push(['message', m.body]));
  });
  await sendFromWidget(page, 'Hello, is my order shipped?');
  const conversation = await shop.api.onlyConversation();
  shop.conversation = conversation.id;
  const seen = await shop.api.messages(conversation.id);
  assert.deepEqual(seen.map((m) => [m.sender.kind, m.body]), [['contact', 'Hello, is my order shipped?']]);

  for (const body of ['Yes, it left this morning.', 'Tracking number: 1Z999']) {
    const t0 = Date.now();
    await shop.api.ok('POST', `/v1/conversations/${conversation.id}/messages`, { body });
    await waitForMessage(page, body, 5000);
    replies.push(Date.now() - t0);
  }
  t.diagnostic(`agent reply shown after ${replies.join(' ms, ')} ms`);
  assert.ok(replies.every((ms) => ms <= 1000), `replies took ${replies} ms`);
  assert.deepEqual(
    (await page.evaluate(() => window.__events)).map((e) => e[1]),
    ['Hello, is my order shipped?', 'Yes, it left this morning.', 'Tracking number: 1Z999'],
  );
  assert.deepEqual(v.problems.filter((p) => !/WebSocket/.test(p)), []);
  await screenshot(page, 'conversation');
});

test('typing indicators and read receipts travel both ways', async () => {
  const { page } = shop.visitor;
  const id = shop.conversation;
  // Agent → visitor typing.
  await shop.api.ok('POST', `/v1/conversations/${id}/typing`, { typing: true });
  await shadow(page, '.ty').waitFor({ state: 'visible', timeout: 3000 });
  // The agent's reply hides it.
  await shop.api.ok('POST', `/v1/conversations/${id}/messages`, { body: 'Anything else?' });
  await waitForMessage(page, 'Anything else?');
  await shadow(page, '.ty').waitFor({ state: 'hidden', timeout: 3000 });

  // Visitor → agent typing and read receipt, seen through the agent's feed.
  const feed0 = await shop.api.ok('GET', `/v1/conversations/${id}/poll?after=1000000&wait=0`);
  await shadow(page, 'form.c textarea').pressSequentially('I am typ', { delay: 20 });
  const deadline = Date.now() + 5000;
  let typing = false;
  let visitorSeen = 0;
  while (Date.now() < deadline && !(typing && visitorSeen >= 4)) {
    const feed = await shop.api.ok('GET', `/v1/conversations/${id}/poll?after=1000000&rev=${feed0.rev}&wait=1`);
    for (const e of feed.events) {
      if (e.type === 'typing' && e.from === 'contact') typing = typing || e.typing;
      if (e.type === 'seen' && e.by === 'contact') visitorSeen = Math.max(visitorSeen, e.seq);
    }
  }
  assert.ok(typing, 'the agent sees the visitor typing');
  assert.equal(visitorSeen, 4, 'the open panel marked every agent message seen');

  // Delivered, then seen by the agent.
  await shadow(page, 'form.c textarea').fill('');
  await sendFromWidget(page, 'No, thanks!');
  let mine = (await messageTexts(page)).filter((m) => m.mine).at(-1);
  assert.equal(mine.status, 'Delivered');
  await shop.api.ok('POST', `/v1/conversations/${id}/seen`, { seq: 5 });
  await page.waitForFunction(() => {
    const spans = document.querySelector('edgedesk-chat').shadowRoot.querySelectorAll('.me .mt span');
    return spans[spans.length - 1]?.textContent === 'Seen';
  }, null, { timeout: 3000 });
  mine = (await messageTexts(page)).filter((m) => m.mine);
  assert.deepEqual(mine.map((m) => m.status), ['', 'Seen'], 'only the newest own message shows a receipt');
});

test('a reload shows the same history, once and in order', async () => {
  const { page } = shop.visitor;
  const before = await messageTexts(page);
  await page.reload();
  await widgetReady(page);
  await waitForMessage(page, 'No, thanks!');
  const after = await messageTexts(page);
  assert.deepEqual(after.map((m) => m.text), before.map((m) => m.text));
  const server = (await shop.api.messages(shop.conversation)).map((m) => m.body);
  assert.deepEqual(after.map((m) => m.text), server);
  await shop.visitor.context.close();
});

test('after the host is killed and restarted the widget shows every message once and in order', async (t) => {
  // Its own host: this test kills it.
  const own = await Host.start();
  try {
    const api = await own.tenant('Restart Shop');
    const v = await openPage(browser, `${own.base}/demo/index.html?tenant=${api.tenant}`);
    const { page } = v;
    await widgetReady(page);
    await configLoaded(page, 'Restart Shop');
    await shadow(page, 'button.l').click();
    await sendFromWidget(page, 'before the crash');
    const conversation = (await api.onlyConversation()).id;
    await api.ok('POST', `/v1/conversations/${conversation}/messages`, { body: 'agent 1' });
    await waitForMessage(page, 'agent 1');

    await own.kill();
    await shadow(page, '.al').filter({ hasText: 'Reconnecting' }).waitFor({ timeout: 15_000 });
    await screenshot(page, 'reconnecting');
    const down = Date.now();
    await own.spawn();
    t.diagnostic(`host back after ${Date.now() - down} ms`);
    // Messages the widget has not seen yet, written right after the restart.
    for (const body of ['agent 2', 'agent 3', 'agent 4']) {
      await api.ok('POST', `/v1/conversations/${conversation}/messages`, { body });
    }
    const t0 = Date.now();
    await waitForMessage(page, 'agent 4', 30_000);
    t.diagnostic(`caught up ${Date.now() - t0} ms after the last message was written`);
    await api.ok('POST', `/v1/conversations/${conversation}/messages`, { body: 'agent 5' });
    await waitForMessage(page, 'agent 5', 5000);
    await sleep(300);
    const shown = (await messageTexts(page)).map((m) => m.text);
    const server = (await api.messages(conversation)).map((m) => m.body);
    assert.deepEqual(shown, server, 'every message once, in order');
    assert.deepEqual(shown, ['before the crash', 'agent 1', 'agent 2', 'agent 3', 'agent 4', 'agent 5']);
    await shadow(page, '.al').waitFor({ state: 'hidden' });
    await screenshot(page, 'after-restart');
    await v.context.close();
  } finally {
    await own.stop();
  }
});

test('a hostile page stylesheet does not reach the widget', async () => {
  const api = await host.tenant('Hostile Shop');
  const v = await visitor(api, 'Hostile Shop', { page: 'hostile.html' });
  const { page } = v;
  const box = await shadow(page, 'button.l').boundingBox();
  assert.ok(box && box.width >= 50 && box.height >= 50, `launcher visible: ${JSON.stringify(box)}`);
  const panel = await shadow(page, '.p').boundingBox();
  assert.ok(panel && panel.width >= 300 && panel.height >= 300, `panel visible: ${JSON.stringify(panel)}`);
  await sendFromWidget(page, 'Styles cannot hide me');
  const style = await page.evaluate(() => {
    const root = document.querySelector('edgedesk-chat').shadowRoot;
    const li = root.querySelector('.m li');
    const cs = getComputedStyle(li);
    const host = getComputedStyle(document.querySelector('edgedesk-chat'));
    return {
      fontSize: cs.fontSize, color: cs.color, visibility: cs.visibility, opacity: cs.opacity,
      letterSpacing: cs.letterSpacing, hostDisplay: host.display, hostPosition: host.position,
      pageHidden: getComputedStyle(document.body).display,
    };
  });
  assert.equal(style.pageHidden, 'none', 'the page hides its own content');
  assert.equal(style.fontSize, '14px');
  assert.equal(style.color, 'rgb(255, 255, 255)');
  assert.equal(style.visibility, 'visible');
  assert.equal(style.opacity, '1');
  assert.equal(style.letterSpacing, 'normal');
  assert.equal(style.hostDisplay, 'block');
  assert.equal(style.hostPosition, 'fixed');
  // The widget's styles do not leak out either: the page's own paragraph keeps the page's rules.
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('p')).fontSize), '0px');
  await screenshot(page, 'hostile');
  assert.deepEqual(v.problems.filter((p) => !/WebSocket/.test(p)), []);
  await v.context.close();
});

test('the widget works under a strict content security policy', async () => {
  const api = await host.tenant('Strict Shop');
  const v = await visitor(api, 'Strict Shop', { page: 'csp.html' });
  const { page } = v;
  const csp = await page.evaluate(() => document.querySelector('meta[http-equiv]').content);
  assert.match(csp, /style-src 'self'/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  await sendFromWidget(page, 'Hello under CSP');
  const conversation = (await api.onlyConversation()).id;
  await api.ok('POST', `/v1/conversations/${conversation}/messages`, { body: 'Reply under CSP' });
  await waitForMessage(page, 'Reply under CSP', 3000);
  // Constructed stylesheets applied: the launcher has its size and colour.
  const launcher = await page.evaluate(() => {
    const b = document.querySelector('edgedesk-chat').shadowRoot.querySelector('.l');
    const cs = getComputedStyle(b);
    return { w: cs.width, bg: cs.backgroundColor };
  });
  assert.deepEqual(launcher, { w: '56px', bg: 'rgb(37, 99, 235)' });
  assert.deepEqual(v.problems.filter((p) => /Content Security Policy|Refused/.test(p)), []);
  await screenshot(page, 'strict-csp');
  await v.context.close();
});

test('a wrong identity hash is refused and no history is shown', async () => {
  const api = await host.tenant('Identity Shop');
  const secret = await api.identitySecret();
  const user = { id: 'user-42', name: 'Ada', email: 'ada@example.com' };
  // The real user chats first.
  const real = await openPage(browser, demo('index.html', api.tenant));
  await real.page.evaluate((u) => window.EdgeDesk.setUser(u), { ...user, hash: identityHash(secret, user.id) });
  await widgetReady(real.page);
  await configLoaded(real.page, 'Identity Shop');
  await shadow(real.page, 'button.l').click();
  await sendFromWidget(real.page, 'my private order 1234');
  await real.context.close();

  // Someone claims the same id without the right hash.
  const fake = await openPage(browser, demo('index.html', api.tenant));
  await fake.page.evaluate((u) => {
    window.__errors = [];
    window.EdgeDesk.on('error', (e) => window.__errors.push(e));
    window.EdgeDesk.setUser(u);
  }, { ...user, hash: identityHash('not-the-secret', user.id) });
  await widgetReady(fake.page);
  await shadow(fake.page, 'button.l').click();
  await shadow(fake.page, '.al').filter({ hasText: 'could not verify' }).waitFor({ timeout: 5000 });
  await sleep(500);
  assert.deepEqual(await messageTexts(fake.page), [], 'no history');
  assert.equal(await shadow(fake.page, 'form.c').isVisible(), false, 'no composer');
  assert.deepEqual(await fake.page.evaluate(() => window.__errors), ['identity_mismatch']);
  await screenshot(fake.page, 'identity-refused');

  // The right hash shows the user's history again.
  await fake.page.evaluate((u) => window.EdgeDesk.setUser(u), { ...user, hash: identityHash(secret, user.id) });
  await waitForMessage(fake.page, 'my private order 1234');
  await shadow(fake.page, '.al').waitFor({ state: 'hidden' });
  await fake.context.close();
});

test('two tenants on two pages never see each other\'s data', async () => {
  const a = await host.tenant('Alpha Store');
  const b = await host.tenant('Bravo Store');
  const { context, page, problems } = await openPage(browser, `${host.base}/demo/two.html?a=${a.tenant}&b=${b.tenant}`, {
    context: { viewport: { width: 1400, height: 1000 } },
  });
  const frameA = page.frameLocator('#a');
  const frameB = page.frameLocator('#b');
  for (const [frame, name, text] of [[frameA, 'Alpha Store', 'alpha secret'], [frameB, 'Bravo Store', 'bravo secret']]) {
    await frame.locator('edgedesk-chat .t').filter({ hasText: name }).waitFor({ state: 'attached', timeout: 15_000 });
    await frame.locator('edgedesk-chat button.l').click();
    const box = frame.locator('edgedesk-chat form.c textarea');
    await box.fill(text);
    await box.press('Enter');
    await frame.locator('edgedesk-chat .m li:not(.pe)').filter({ hasText: text }).waitFor();
  }
  const convA = (await a.onlyConversation()).id;
  const convB = (await b.onlyConversation()).id;
  await a.ok('POST', `/v1/conversations/${convA}/messages`, { body: 'alpha reply' });
  await b.ok('POST', `/v1/conversations/${convB}/messages`, { body: 'bravo reply' });
  await frameA.locator('edgedesk-chat .m li').filter({ hasText: 'alpha reply' }).waitFor({ timeout: 3000 });
  await frameB.locator('edgedesk-chat .m li').filter({ hasText: 'bravo reply' }).waitFor({ timeout: 3000 });
  await sleep(500);
  const texts = async (f) => f.locator('edgedesk-chat .m li').allInnerTexts();
  const shownA = (await texts(frameA)).join('\n');
  const shownB = (await texts(frameB)).join('\n');
  assert.ok(!/bravo/.test(shownA), `A shows nothing of B: ${shownA}`);
  assert.ok(!/alpha/.test(shownB), `B shows nothing of A: ${shownB}`);
  assert.deepEqual((await a.messages(convA)).map((m) => m.body), ['alpha secret', 'alpha reply']);
  assert.deepEqual((await b.messages(convB)).map((m) => m.body), ['bravo secret', 'bravo reply']);
  assert.ok([403, 404].includes((await b.call('GET', `/v1/conversations/${convA}`)).status), "B's key cannot read A's conversation");
  // A's visitor token is worthless at B.
  const tokenA = await page.frames().find((f) => f.url().includes(a.tenant)).evaluate((t) => localStorage.getItem(`edgedesk:${t}`), a.tenant);
  assert.ok(tokenA, 'A keeps its visitor token');
  const r = await fetch(`${host.base}/v1/widget/${b.tenant}/messages`, { headers: { authorization: `Visitor ${tokenA}` } });
  assert.equal(r.status, 401);
  await screenshot(page, 'two-tenants');
  assert.deepEqual(problems.filter((p) => !/WebSocket/.test(p)), []);
  await context.close();
});

test('the widget falls back to long-polling when WebSockets are unavailable', async () => {
  const api = await host.tenant('Poll Shop');
  const sockets = [];
  const v = await visitor(api, 'Poll Shop', {
    beforeGoto: async (p) => {
      await p.addInitScript(() => { delete window.WebSocket; });
      p.on('websocket', (ws) => sockets.push(ws.url()));
    },
  });
  const { page } = v;
  await sendFromWidget(page, 'no sockets here');
  const conversation = (await api.onlyConversation()).id;
  const t0 = Date.now();
  await api.ok('POST', `/v1/conversations/${conversation}/messages`, { body: 'polled reply' });
  await waitForMessage(page, 'polled reply', 3000);
  assert.ok(Date.now() - t0 <= 1000, `reply took ${Date.now() - t0} ms`);
  assert.deepEqual(sockets, []);
  assert.deepEqual(v.problems, []);
  await v.context.close();
});

test('the widget keeps a WebSocket open when the host offers one', async () => {
  const api = await host.tenant('Socket Shop');
  const sockets = [];
  const v = await visitor(api, 'Socket Shop', {
    beforeGoto: async (p) => p.on('websocket', (ws) => sockets.push(ws)),
  });
  const { page } = v;
  await sendFromWidget(page, 'over a socket');
  await sleep(1500);
  const open = sockets.filter((ws) => !ws.isClosed());
  assert.equal(open.length, 1, `one open socket (saw ${sockets.length}, errors: ${v.problems.join(' | ')})`);
  const frames = [];
  open[0].on('framereceived', (f) => frames.push(f.payload));
  const conversation = (await api.onlyConversation()).id;
  await api.ok('POST', `/v1/conversations/${conversation}/messages`, { body: 'pushed reply' });
  await waitForMessage(page, 'pushed reply', 1000);
  assert.ok(frames.some((f) => String(f).includes('pushed reply')), 'the reply came over the socket');
  await v.context.close();
});

test('the widget reads socket frames in seq order, once, and resumes after the last one it showed', async () => {
  // The socket side is played by the test (the host's answers stay real for HTTP), so this
  // checks the widget's own handling of frames, duplicates, gaps and reconnects.
  const api = await host.tenant('Frames Shop');
  const sockets = [];
  const v = await visitor(api, 'Frames Shop', {
    beforeGoto: (p) => p.routeWebSocket((u) => u.pathname.endsWith('/realtime'), (ws) => { sockets.push(ws); }),
  });
  const { page } = v;
  await sendFromWidget(page, 'hello');
  const deadline = Date.now() + 5000;
  while (sockets.length === 0 && Date.now() < deadline) await sleep(50);
  assert.equal(sockets.length, 1, 'the widget opened a socket');
  const first = new URL(sockets[0].url());
  assert.ok(first.searchParams.get('token'), 'the visitor token is in the query');
  const at = new Date().toISOString();
  const msg = (seq, body) => ({ type: 'message', message: { id: `m${seq}`, seq, sender: { kind: 'agent', id: 'agt' }, body, attachments: [], created_at: at } });
  // A feed with two messages out of order, then a duplicate alone, then events as an array.
  sockets[0].send(JSON.stringify({ events: [msg(3, 'three'), msg(2, 'two')], last_seq: 3 }));
  sockets[0].send(JSON.stringify(msg(2, 'two')));
  sockets[0].send(JSON.stringify([{ type: 'typing', from: 'agent', typing: true }, { type: 'seen', by: 'agent', seq: 1 }]));
  await waitForMessage(page, 'three');
  await shadow(page, '.ty').waitFor({ state: 'visible', timeout: 3000 });
  await page.waitForFunction(() => {
    const s = document.querySelector('edgedesk-chat').shadowRoot.querySelector('.me .mt span');
    return s && s.textContent === 'Seen';
  }, null, { timeout: 3000 });
  assert.deepEqual((await messageTexts(page)).map((m) => m.text), ['hello', 'two', 'three']);
  // The server drops the socket: the widget comes back asking for what follows seq 3.
  sockets[0].close();
  while (sockets.length < 2 && Date.now() < deadline + 5000) await sleep(50);
  assert.equal(new URL(sockets[1].url()).searchParams.get('after'), '3');
  sockets[1].send(JSON.stringify({ events: [msg(3, 'three'), msg(4, 'four')], last_seq: 4 }));
  await waitForMessage(page, 'four');
  assert.deepEqual((await messageTexts(page)).map((m) => m.text), ['hello', 'two', 'three', 'four']);
  await v.context.close();
});

test('attachments are checked in the browser, uploaded and shown', async () => {
  const api = await host.tenant('Files Shop');
  await api.ok('PATCH', '/v1/tenant/widget', { attachments: { max_bytes: 2048, types: ['image/png', 'text/plain'] } });
  const v = await visitor(api, 'Files Shop');
  const { page } = v;
  const uploads = [];
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().includes('/attachments')) uploads.push(r.url()); });
  const input = shadow(page, 'input[type=file]');
  assert.equal(await input.getAttribute('accept'), 'image/png,text/plain');
  // Wrong type: refused before any request.
  await input.setInputFiles({ name: 'tool.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ') });
  await shadow(page, '.al').filter({ hasText: 'cannot be sent' }).waitFor({ timeout: 3000 });
  // Too large: refused before any request.
  await input.setInputFiles({ name: 'big.txt', mimeType: 'text/plain', buffer: Buffer.alloc(4096, 'x') });
  await shadow(page, '.al').filter({ hasText: 'too large' }).waitFor({ timeout: 3000 });
  assert.deepEqual(uploads, []);
  // A small PNG goes through.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
  await input.setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png });
  await page.waitForFunction(() => {
    const img = document.querySelector('edgedesk-chat').shadowRoot.querySelector('.m li:not(.pe) .at img');
    return img && img.complete && img.naturalWidth === 1;
  }, null, { timeout: 5000 });
  await shadow(page, '.al').waitFor({ state: 'hidden' });
  const conversation = (await api.onlyConversation()).id;
  const [m] = await api.messages(conversation);
  assert.equal(m.attachments.length, 1);
  assert.equal(m.attachments[0].name, 'dot.png');
  assert.equal(m.attachments[0].content_type, 'image/png');
  assert.equal(m.attachments[0].size, png.length);
  assert.equal(uploads.length, 1);
  await v.context.close();
});

test('a waiting visitor sees their place in the queue and the wait, and it goes when an agent takes them', async () => {
  const api = await host.tenant('Queue Shop');
  const fiona = await api.ok('POST', '/v1/agents', { email: 'fiona@queue.test', name: 'Fiona', role: 'agent' });
  await api.ok('PUT', `/v1/agents/${fiona.id}/routing`, { capacity: { default: 1 }, languages: ['en'] });
  await api.ok('POST', '/v1/teams', { id: 'support', name: 'Support', members: [fiona.id] });
  await api.ok('POST', '/v1/routing/rules', { id: 'all', name: 'All chats', target: { team: 'support' } });
  await api.ok('PUT', `/v1/agents/${fiona.id}/presence`, { status: 'online' });

  // The first visitor takes Fiona's only place.
  const first = await visitor(api, 'Queue Shop');
  await sendFromWidget(first.page, 'First in line');
  // Routing runs as the message is stored, which the widget may show first.
  let taken = await api.onlyConversation();
  for (const t0 = Date.now(); !taken.assignee_id && Date.now() - t0 < 5000; await sleep(100)) {
    taken = await api.onlyConversation();
  }
  assert.equal(taken.assignee_id, fiona.id);
  assert.equal(await shadow(first.page, '.qu').isVisible(), false);

  const second = await visitor(api, 'Queue Shop');
  const { page } = second;
  await sendFromWidget(page, 'Anyone there?');
  const line = shadow(page, '.qu');
  await line.waitFor({ state: 'visible', timeout: 5000 });
  assert.match(await line.textContent(), /^You are number 1 in the queue\. Estimated wait: about \d+ min\.$/);
  assert.equal(await line.getAttribute('role'), 'status');
  await screenshot(page, 'queue');

  // Fiona's first chat is resolved: she takes the waiting one and the line goes, live.
  await api.ok('PATCH', `/v1/conversations/${taken.id}`, { status: 'resolved' });
  await line.waitFor({ state: 'hidden', timeout: 5000 });
  await first.context.close();
  await second.context.close();
});

test('after the conversation is resolved the visitor rates it with stars and a comment', async () => {
  const api = await host.tenant('Rating Shop');
  const routing = await api.ok('GET', '/v1/routing/settings');
  routing.csat = { enabled: true, allow_comment: true, window_hours: 24 };
  await api.ok('PUT', '/v1/routing/settings', routing);
  const v = await visitor(api, 'Rating Shop');
  const { page } = v;
  await sendFromWidget(page, 'Can I return the blue tent?');
  const conversation = await api.onlyConversation();
  const form = shadow(page, 'form.r');
  assert.equal(await form.isVisible(), false, 'no rating while the conversation is open');

  await api.ok('PATCH', `/v1/conversations/${conversation.id}`, { status: 'resolved' });
  await form.waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await shadow(page, 'form.r p').textContent(), 'How would you rate this conversation?');
  const stars = shadow(page, 'form.r .g button');
  assert.equal(await stars.count(), 5);
  assert.equal(await stars.nth(2).getAttribute('aria-label'), '3 of 5');
  // Sending without a rating sends nothing.
  await shadow(page, 'form.r button.sd').click();
  assert.equal(await form.isVisible(), true);
  await stars.nth(3).click();
  assert.deepEqual(
    await stars.evaluateAll((b) => b.map((e) => e.getAttribute('aria-pressed'))),
    ['true', 'true', 'true', 'true', 'false'],
  );
  await shadow(page, 'form.r textarea').fill('Quick and kind');
  await screenshot(page, 'rating');
  await shadow(page, 'form.r button.sd').click();
  await shadow(page, 'form.r p').getByText('Thank you for your rating!').waitFor({ timeout: 5000 });
  assert.equal(await stars.first().isVisible(), false);
  const stored = await api.ok('GET', `/v1/conversations/${conversation.id}/csat`);
  assert.equal(stored.rating, 4);
  assert.equal(stored.comment, 'Quick and kind');
  await v.context.close();
});

test('the pre-chat form and the away message follow the tenant settings', async () => {
  const api = await host.tenant('Form Shop');
  await api.ok('PATCH', '/v1/tenant/widget', {
    prechat: { enabled: true, require_email: true },
    away_message: 'We are out until Monday.',
    expected_reply_minutes: 180,
  });
  const v = await visitor(api, 'Form Shop');
  const { page } = v;
  assert.equal(await shadow(page, '.s').textContent(), 'Away');
  assert.equal(await shadow(page, '.aw').textContent(), 'We are out until Monday. Usually replies within 3 h');
  assert.equal(await shadow(page, 'form.c').isVisible(), false);
  await shadow(page, 'form.f input[name=name]').fill('Grace');
  await shadow(page, 'form.f button').click();
  assert.equal(await shadow(page, 'form.f').isVisible(), true, 'email is required');
  await shadow(page, 'form.f input[name=email]').fill('grace@example.com');
  await shadow(page, 'form.f button').click();
  await shadow(page, 'form.c').waitFor({ state: 'visible' });
  await screenshot(page, 'prechat-done');
  await sendFromWidget(page, 'Question for Monday');
  const conversation = await api.onlyConversation();
  const contact = await api.ok('GET', `/v1/contacts/${conversation.contact_id}`);
  assert.equal(contact.name, 'Grace');
  assert.equal(contact.email, 'grace@example.com');
  await v.context.close();
});

test('the widget speaks Chinese when the browser or the tag asks for it', async () => {
  const api = await host.tenant('中文商店');
  const byBrowser = await openPage(browser, demo('index.html', api.tenant), { context: { locale: 'zh-CN' } });
  await widgetReady(byBrowser.page);
  await configLoaded(byBrowser.page, '中文商店');
  assert.equal(await shadow(byBrowser.page, 'button.l').getAttribute('aria-label'), '打开聊天');
  await shadow(byBrowser.page, 'button.l').click();
  assert.equal(await shadow(byBrowser.page, 'form.c textarea').getAttribute('placeholder'), '输入消息…');
  await screenshot(byBrowser.page, 'zh-cn');
  await byBrowser.context.close();

  const byTag = await openPage(browser, demo('index.html', api.tenant, '&locale=zh-CN'), { context: { locale: 'en-US' } });
  await widgetReady(byTag.page);
  await configLoaded(byTag.page, '中文商店');
  assert.equal(await shadow(byTag.page, 'button.l').getAttribute('aria-label'), '打开聊天');
  await byTag.context.close();

  const english = await openPage(browser, demo('index.html', api.tenant), { context: { locale: 'en-GB' } });
  await widgetReady(english.page);
  assert.equal(await shadow(english.page, 'button.l').getAttribute('aria-label'), 'Open chat');
  await english.context.close();
});

test('the widget is keyboard usable, labelled, and fills a phone screen', async () => {
  const api = await host.tenant('Keys Shop');
  const v = await openPage(browser, demo('index.html', api.tenant));
  const { page } = v;
  await widgetReady(page);
  await configLoaded(page, 'Keys Shop');
  // Tab reaches the launcher (the demo page has two links before it in tab order? it is last).
  const launcher = page.getByRole('button', { name: 'Open chat' });
  await launcher.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Keys Shop' });
  await dialog.waitFor();
  assert.equal(await launcher.getAttribute('aria-expanded'), 'true');
  assert.equal(await page.evaluate(() => document.querySelector('edgedesk-chat').shadowRoot.activeElement?.tagName), 'TEXTAREA');
  await page.keyboard.type('typed with the keyboard');
  await page.keyboard.press('Enter');
  await waitForMessage(page, 'typed with the keyboard');
  await page.getByRole('log', { name: 'Messages' }).waitFor();
  await page.getByRole('button', { name: 'Close chat' }).waitFor();
  await page.getByRole('button', { name: 'Attach a file' }).waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.querySelector('edgedesk-chat').shadowRoot.activeElement?.className), 'l');
  await v.context.close();

  const phone = await openPage(browser, demo('index.html', api.tenant), { context: { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true } });
  await widgetReady(phone.page);
  await configLoaded(phone.page, 'Keys Shop');
  await shadow(phone.page, 'button.l').click();
  const panel = await shadow(phone.page, '.p').boundingBox();
  assert.deepEqual(panel, { x: 0, y: 0, width: 375, height: 667 });
  await screenshot(phone.page, 'phone');
  await phone.context.close();
});

test('the JS API queues early calls, reports open and close, and reset forgets the visitor', async () => {
  const api = await host.tenant('API Shop');
  const v = await openPage(browser, demo('index.html', api.tenant));
  const { page } = v;
  await page.evaluate(() => {
    window.__events = [];
    for (const type of ['open', 'close']) window.EdgeDesk.on(type, () => window.__events.push(type));
    window.EdgeDesk.setAttributes({ plan: 'pro' });
    window.EdgeDesk.toggle();
  });
  await widgetReady(page);
  await shadow(page, '.p').waitFor({ state: 'visible' });
  await sendFromWidget(page, 'remember me');
  const conversation = await api.onlyConversation();
  const contact = await api.ok('GET', `/v1/contacts/${conversation.contact_id}`);
  assert.deepEqual(contact.attributes, { plan: 'pro' });
  await page.evaluate(() => window.EdgeDesk.close());
  assert.deepEqual(await page.evaluate(() => window.__events), ['open', 'close']);
  const key = `edgedesk:${api.tenant}`;
  assert.ok(await page.evaluate((k) => localStorage.getItem(k), key));
  await page.evaluate(() => window.EdgeDesk.reset());
  assert.equal(await page.evaluate((k) => localStorage.getItem(k), key), null);
  assert.deepEqual(await messageTexts(page), []);
  await page.reload();
  await widgetReady(page);
  await shadow(page, 'button.l').click();
  await sleep(800);
  assert.deepEqual(await messageTexts(page), [], 'a new visitor sees nothing of the old one');
  await v.context.close();
});

/** Publishes a help-centre article through the admin API and returns it. */
async function publish(api, article) {
  return api.ok('POST', '/v1/kb/articles', { ...article, publish: true });
}

/** Polls the admin view of an article until its vote counts are these. */
async function waitForVotes(api, id, helpful, notHelpful) {
  const deadline = Date.now() + 5000;
  let stats;
  while (Date.now() < deadline) {
    stats = (await api.ok('GET', `/v1/kb/articles/${id}`)).stats;
    if (stats.helpful === helpful && stats.not_helpful === notHelpful) return stats;
    await sleep(100);
  }
  assert.deepEqual(stats, { ...stats, helpful, not_helpful: notHelpful }, 'vote counts');
  return stats;
}

test('while the visitor types, help articles are suggested, open in the widget and take one vote that can change', async () => {
  const api = await host.tenant('Help Shop');
  const refund = await publish(api, {
    title: 'Refund a damaged parcel',
    locale: 'en',
    body: 'Fish & chips arrived cold?\n\n- Keep the box\n- Send a photo\n\n<script>alert(1)</script> stays text.',
  });
  await publish(api, { title: 'Change your delivery address', locale: 'en', body: 'Before it ships.' });
  const v = await visitor(api, 'Help Shop');
  const { page } = v;
  const box = shadow(page, 'form.c textarea');
  const suggestions = shadow(page, '.k');
  const buttons = shadow(page, '.k button');

  // Nonsense and too-short queries suggest nothing.
  await box.pressSequentially('qzxv wobbleflop', { delay: 20 });
  await sleep(900);
  assert.equal(await suggestions.isVisible(), false, 'no suggestion for nonsense');
  await box.fill('');
  await box.pressSequentially('re', { delay: 20 });
  await sleep(900);
  assert.equal(await suggestions.isVisible(), false, 'no suggestion under three characters');

  // A real question does, after a pause, labelled and above the composer.
  await box.pressSequentially('fund', { delay: 30 });
  await suggestions.waitFor({ state: 'visible', timeout: 5000 });
  assert.deepEqual(await buttons.allTextContents(), ['Refund a damaged parcel']);
  await page.getByRole('group', { name: 'Articles that may help' }).waitFor();
  const above = await suggestions.boundingBox();
  const composer = await shadow(page, 'form.c').boundingBox();
  assert.ok(above.y + above.height <= composer.y + 1, 'suggestions sit above the composer');
  await screenshot(page, 'suggestions');

  // Keyboard: the suggestion is a button; Enter opens the article inside the panel.
  await page.getByRole('button', { name: 'Refund a damaged parcel' }).focus();
  await page.keyboard.press('Enter');
  const article = page.getByRole('region', { name: 'Refund a damaged parcel' });
  await article.waitFor({ timeout: 5000 });
  assert.equal(await shadow(page, 'form.c').isVisible(), false, 'the article replaces the conversation');
  assert.equal(await shadow(page, '.m').isVisible(), false);
  const body = await shadow(page, '.ab').textContent();
  assert.match(body, /Fish & chips arrived cold\?/);
  assert.match(body, /• Keep the box\n+• Send a photo/);
  assert.match(body, /<script>alert\(1\)<\/script> stays text\./);
  assert.equal(await shadow(page, '.ab *').count(), 0, 'the body is text, no markup');
  assert.equal(await page.evaluate(() => document.querySelector('edgedesk-chat').shadowRoot.activeElement?.className), 'bk');
  const link = await shadow(page, '.ar a').getAttribute('href');
  assert.equal(link, `${host.base}/help/${api.tenant}/en/articles/${refund.slug}`);
  assert.equal((await fetch(link)).status, 200, 'the help-centre page exists');
  await screenshot(page, 'article');

  // Votes: one per visitor, and a changed mind moves the count instead of adding one.
  const yes = page.getByRole('button', { name: 'Yes', exact: true });
  const no = page.getByRole('button', { name: 'No', exact: true });
  assert.equal(await yes.getAttribute('aria-pressed'), 'false');
  await yes.click();
  await shadow(page, '.ar p').getByText('Thanks for your feedback!').waitFor({ timeout: 5000 });
  assert.equal(await yes.getAttribute('aria-pressed'), 'true');
  const stats = await waitForVotes(api, refund.id, 1, 0);
  assert.equal(stats.views, 2, 'one view in the widget, one of the help-centre page');
  await no.click();
  await page.waitForFunction(() => {
    const b = document.querySelector('edgedesk-chat').shadowRoot.querySelectorAll('.vo button');
    return b[1].getAttribute('aria-pressed') === 'true';
  }, null, { timeout: 5000 });
  assert.equal(await yes.getAttribute('aria-pressed'), 'false');
  await waitForVotes(api, refund.id, 0, 1);

  // Back to the chat; reopened, the article shows the vote on record, which can still change.
  const back = page.getByRole('button', { name: '← Back to the chat' });
  await back.click();
  await article.waitFor({ state: 'hidden' });
  await shadow(page, 'form.c').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => document.querySelector('edgedesk-chat').shadowRoot.activeElement?.tagName), 'TEXTAREA');
  await box.fill('');
  await box.pressSequentially('refund', { delay: 20 });
  await suggestions.waitFor({ state: 'visible', timeout: 5000 });
  await page.getByRole('button', { name: 'Refund a damaged parcel' }).click();
  await article.waitFor({ timeout: 5000 });
  await shadow(page, '.ar p').getByText('Thanks for your feedback!').waitFor({ timeout: 5000 });
  assert.equal(await no.getAttribute('aria-pressed'), 'true', 'the earlier "No" is pressed');
  assert.equal(await yes.getAttribute('aria-pressed'), 'false');
  await yes.click();
  await page.waitForFunction(() => {
    const b = document.querySelector('edgedesk-chat').shadowRoot.querySelectorAll('.vo button');
    return b[0].getAttribute('aria-pressed') === 'true' && b[1].getAttribute('aria-pressed') === 'false';
  }, null, { timeout: 5000 });
  await waitForVotes(api, refund.id, 1, 0);

  // Back to the chat, where sending a message hides the suggestions.
  await back.click();
  await article.waitFor({ state: 'hidden' });
  await shadow(page, 'form.c').waitFor({ state: 'visible' });
  await box.fill('');
  await box.pressSequentially('refund please', { delay: 20 });
  await suggestions.waitFor({ state: 'visible', timeout: 5000 });
  await box.press('Enter');
  await waitForMessage(page, 'refund please');
  await sleep(600);
  assert.equal(await suggestions.isVisible(), false, 'sending hides the suggestions');

  // After a reload (the anonymous visitor's token is kept) the article still shows their vote.
  await page.reload();
  await widgetReady(page);
  await configLoaded(page, 'Help Shop');
  if (!(await box.isVisible())) await shadow(page, 'button.l').click();
  await waitForMessage(page, 'refund please');
  await box.pressSequentially('refund', { delay: 20 });
  await suggestions.waitFor({ state: 'visible', timeout: 5000 });
  await page.getByRole('button', { name: 'Refund a damaged parcel' }).click();
  await article.waitFor({ timeout: 5000 });
  await shadow(page, '.ar p').getByText('Thanks for your feedback!').waitFor({ timeout: 5000 });
  assert.equal(await yes.getAttribute('aria-pressed'), 'true', 'the "Yes" on record is pressed after a reload');
  assert.equal(await no.getAttribute('aria-pressed'), 'false');
  assert.deepEqual(v.problems, []);
  await v.context.close();
});

test('article suggestions follow the visitor\'s language and fill a phone screen', async () => {
  const api = await host.tenant('帮助商店');
  const zh = await publish(api, { title: '如何申请退款', locale: 'zh-CN', body: '请在三十天内联系我们。\n\n退款会退回原支付方式。' });
  await publish(api, { title: 'How to get a refund', locale: 'en', body: 'Within thirty days.' });
  const v = await openPage(browser, demo('index.html', api.tenant), {
    context: { locale: 'zh-CN', viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true },
  });
  const { page } = v;
  await widgetReady(page);
  await configLoaded(page, '帮助商店');
  await shadow(page, 'button.l').click();
  await shadow(page, 'form.c textarea').pressSequentially('申请退款', { delay: 30 });
  await shadow(page, '.k').waitFor({ state: 'visible', timeout: 5000 });
  assert.deepEqual(await shadow(page, '.k button').allTextContents(), ['如何申请退款']);
  assert.equal(await shadow(page, '.k p').textContent(), '可能有帮助的文章');
  await shadow(page, '.k button').tap();
  await shadow(page, '.ar').waitFor({ timeout: 5000 });
  assert.deepEqual(await shadow(page, '.ar').boundingBox().then((b) => b.width), 375);
  assert.equal(await shadow(page, '.ar h2').textContent(), '如何申请退款');
  assert.match(await shadow(page, '.ab').textContent(), /请在三十天内联系我们。\n+退款会退回原支付方式。/);
  assert.equal(await shadow(page, '.ar a').textContent(), '在帮助中心打开');
  await page.getByRole('button', { name: '有帮助' }).tap();
  await shadow(page, '.ar p').getByText('感谢您的反馈！').waitFor({ timeout: 5000 });
  await waitForVotes(api, zh.id, 1, 0);
  await screenshot(page, 'article-zh-phone');
  await page.getByRole('button', { name: '← 返回聊天' }).tap();
  await shadow(page, 'form.c').waitFor({ state: 'visible' });
  assert.deepEqual(v.problems, []);
  await v.context.close();
});

/** Gives the tenant an email channel (its team can then answer by email) and returns it. */
async function emailChannel(api, address = 'support@acme.example') {
  return api.ok('POST', '/v1/channels/email', {
    name: 'Support',
    addresses: [address],
    transport: { kind: 'smtp', host: '127.0.0.1', port: 2525, security: 'none' },
  });
}

/** The widget's config as a visitor's browser gets it. */
async function widgetConfig(api) {
  return (await fetch(`${host.base}/v1/widget/${api.tenant}/config`)).json();
}

test('when nobody is online a visitor who has written may leave their email, and is not asked again after a reload', async () => {
  const api = await host.tenant('Mail Shop');
  await emailChannel(api);
  const config = await widgetConfig(api);
  assert.deepEqual([config.online, config.offline_email], [false, true]);
  // Under the strict policy: the form is styled by the widget's own stylesheet only.
  const v = await visitor(api, 'Mail Shop', { page: 'csp.html' });
  const { page } = v;
  const offer = shadow(page, 'form.e');
  const line = shadow(page, 'form.e p[role=status]');
  const error = shadow(page, 'form.e [role=alert]');
  await sleep(500);
  assert.equal(await offer.isVisible(), false, 'no offer before the visitor has written');

  await sendFromWidget(page, 'Do you ship to Iceland?');
  await offer.waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await line.textContent(), "Nobody is online right now. Leave your email and we'll reply there.");
  const field = page.getByRole('textbox', { name: 'Email' });
  assert.equal(await field.getAttribute('type'), 'email');
  assert.equal(await field.inputValue(), '', 'nothing to prefill');
  const above = await offer.boundingBox();
  const composer = await shadow(page, 'form.c').boundingBox();
  assert.ok(above.y + above.height <= composer.y + 1, 'the offer sits above the composer');
  await screenshot(page, 'email-offer');

  // An address the browser lets through but the server refuses: its message is shown.
  const token = await page.evaluate((t) => localStorage.getItem(`edgedesk:${t}`), api.tenant);
  const refused = await fetch(`${host.base}/v1/widget/${api.tenant}/email`, {
    method: 'POST',
    headers: { authorization: `Visitor ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'ada@localhost' }),
  });
  assert.equal(refused.status, 422);
  const { error: { message } } = await refused.json();
  await field.focus();
  await page.keyboard.type('ada@localhost');
  await page.keyboard.press('Enter');
  await error.waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await error.textContent(), message);
  assert.equal(await offer.isVisible(), true);
  await screenshot(page, 'email-refused');

  // Keyboard only: Enter in the field submits.
  await field.fill('Ada@Example.com');
  await field.press('Enter');
  await line.getByText("We'll email you at ada@example.com.").waitFor({ timeout: 5000 });
  assert.equal(await field.isVisible(), false, 'the field goes');
  assert.equal(await error.isVisible(), false, 'so does the earlier error');
  assert.equal(
    await page.evaluate(() => document.querySelector('edgedesk-chat').shadowRoot.activeElement?.tagName),
    'TEXTAREA',
    'focus goes back to the composer',
  );
  await screenshot(page, 'email-left');
  const conversation = await api.onlyConversation();
  const contact = await api.ok('GET', `/v1/contacts/${conversation.contact_id}`);
  assert.equal(contact.email, 'ada@example.com');

  // After a reload the widget remembers, and does not ask again.
  await page.reload();
  await widgetReady(page);
  await configLoaded(page, 'Mail Shop');
  if (!(await shadow(page, 'form.c').isVisible())) await shadow(page, 'button.l').click();
  await waitForMessage(page, 'Do you ship to Iceland?');
  await line.getByText("We'll email you at ada@example.com.").waitFor({ timeout: 5000 });
  assert.equal(await field.isVisible(), false);
  // Forgetting the visitor forgets their address too.
  await page.evaluate(() => window.EdgeDesk.reset());
  assert.equal(await page.evaluate((t) => localStorage.getItem(`edgedesk:${t}:email`), api.tenant), null);
  assert.equal(await offer.isVisible(), false);
  // The browser logs the refused request; nothing else went wrong.
  assert.deepEqual(v.problems.filter((p) => !/WebSocket|status of 422/.test(p)), []);
  await v.context.close();
});

test('the email offer speaks Chinese, starts from the pre-chat email, follows the team\'s channels and shows why the server refused it', async () => {
  const api = await host.tenant('邮件商店');
  await api.ok('PATCH', '/v1/tenant/widget', { prechat: { enabled: true, require_email: false } });
  const channel = await emailChannel(api, 'support@zh.example');
  const v = await visitor(api, '邮件商店', { context: { locale: 'zh-CN' } });
  const { page } = v;
  await shadow(page, 'form.f input[name=name]').fill('Grace');
  await shadow(page, 'form.f input[name=email]').fill('grace@example.com');
  await shadow(page, 'form.f button').click();
  await sendFromWidget(page, '你们周末发货吗？');
  const offer = shadow(page, 'form.e');
  const line = shadow(page, 'form.e p[role=status]');
  await offer.waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await line.textContent(), '现在没有客服在线。请留下您的邮箱，我们会通过邮件回复您。');
  const field = page.getByRole('textbox', { name: '邮箱' });
  assert.equal(await field.inputValue(), 'grace@example.com', 'the pre-chat email is filled in');
  assert.equal(await shadow(page, 'form.e button').textContent(), '发送');

  // The team stops answering by email meanwhile: the open widget withdraws the offer, and
  // makes it again when the team does.
  await api.ok('DELETE', `/v1/channels/email/${channel.id}`);
  await offer.waitFor({ state: 'hidden', timeout: 5000 });
  await emailChannel(api, 'support@zh.example');
  await offer.waitFor({ state: 'visible', timeout: 5000 });

  // An address the browser takes and the server refuses: the server's reason is shown.
  await field.fill('grace@localhost');
  await shadow(page, 'form.e button').click();
  const error = shadow(page, 'form.e [role=alert]');
  await error.waitFor({ state: 'visible', timeout: 5000 });
  assert.match(await error.textContent(), /must be an email address/);
  assert.equal(await field.isVisible(), true, 'the visitor may try again');

  await field.fill('grace@example.com');
  await shadow(page, 'form.e button').click();
  await line.getByText('我们会将回复发送到 grace@example.com。').waitFor({ timeout: 5000 });
  await screenshot(page, 'email-left-zh');
  assert.deepEqual(v.problems.filter((p) => !/WebSocket|status of 422/.test(p)), []);
  await v.context.close();
});

test('without an email channel the widget never offers to leave an email', async () => {
  const api = await host.tenant('Chat Only Shop');
  const config = await widgetConfig(api);
  assert.deepEqual([config.online, config.offline_email], [false, false]);
  const asked = [];
  const v = await visitor(api, 'Chat Only Shop', {
    beforeGoto: async (p) => p.on('request', (r) => { if (r.url().endsWith('/email')) asked.push(r.url()); }),
  });
  const { page } = v;
  await sendFromWidget(page, 'Anyone around?');
  const conversation = (await api.onlyConversation()).id;
  await api.ok('POST', `/v1/conversations/${conversation}/messages`, { body: 'Back tomorrow.' });
  await waitForMessage(page, 'Back tomorrow.');
  await sendFromWidget(page, 'OK, thanks');
  await sleep(500);
  assert.equal(await shadow(page, 'form.e').isVisible(), false);
  assert.deepEqual(asked, []);
  await v.context.close();
});

test('an open widget follows the team coming online and a new colour without a reload', async () => {
  const api = await host.tenant('Live Shop');
  await api.ok('PATCH', '/v1/tenant/widget', { away_message: 'Back soon.' });
  const fiona = await api.ok('POST', '/v1/agents', { email: 'fiona@live.test', name: 'Fiona', role: 'agent' });
  const v = await visitor(api, 'Live Shop');
  const { page } = v;
  // The widget follows the feed once the visitor has a session.
  await sendFromWidget(page, 'Is anyone there?');
  await waitForMessage(page, 'Is anyone there?');
  const status = shadow(page, '.s');
  assert.equal(await status.textContent(), 'Away');
  assert.equal(await shadow(page, '.aw').isVisible(), true);

  await api.ok('PUT', `/v1/agents/${fiona.id}/presence`, { status: 'online' });
  await shadow(page, '.s.on').waitFor({ state: 'attached', timeout: 5000 });
  assert.equal(await status.textContent(), 'Online');
  await shadow(page, '.aw').waitFor({ state: 'hidden', timeout: 5000 });

  await api.ok('PATCH', '/v1/tenant/widget', { color: '#0a7d32' });
  const colour = async () => page.evaluate(() =>
    document.querySelector('edgedesk-chat').shadowRoot.querySelector('.w').style.getPropertyValue('--c'));
  for (const t0 = Date.now(); (await colour()) !== '#0a7d32' && Date.now() - t0 < 5000; await sleep(100));
  assert.equal(await colour(), '#0a7d32');

  await api.ok('PUT', `/v1/agents/${fiona.id}/presence`, { status: 'away' });
  await shadow(page, '.s:not(.on)').waitFor({ state: 'attached', timeout: 5000 });
  assert.equal(await status.textContent(), 'Away');
  await v.context.close();
});
