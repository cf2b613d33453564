// The agent console in a real browser (headless Chromium) against the real local host:
// first-run setup and sign-in, a visitor's message arriving live, replying (with the typing
// signal), assigning, private notes, resolving, a viewer who cannot reply (and whose forged
// call the API refuses), an agent who cannot manage keys, an API key created and revoked in
// settings, inbox filters, snoozing, widget settings, the notification mails an agent chooses,
// tablet layouts, tickets and Chinese, bot intents and what the bot detected, canned responses
// by shortcode, satisfaction ratings, an email channel set up in settings (its DNS records, its
// secret once, a test send) and an email conversation (the mail's headers and original, Cc and
// Bcc on a reply, delivery).
// Screenshots of the inbox, the conversation view and settings pages go to
// `target/screenshots/` of this repository, for review.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';
import { SMTPServer } from 'smtp-server';

import { Host, Visitor, repoRoot } from './host.mjs';

const artifacts = join(repoRoot, 'target', 'screenshots');
const OWNER = { workspace: 'Acme Outdoor', name: 'Olga Owner', email: 'olga@acme.test', password: 'correct horse battery staple' };
const VIEWER = { name: 'Victor Viewer', email: 'victor@acme.test', password: 'viewer passphrase 42' };
const LIVE_MS = 15_000;

let host;
let browser;
let owner; // the owner's page
const state = {};
const pageErrors = [];

function watch(page, who) {
  page.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
  page.on('console', (m) => {
    // Refused requests (a 401 before sign-in, the forged 403) are logged by the browser as
    // failed resource loads; anything else logged as an error is a bug.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      pageErrors.push(`${who}: ${m.text()}`);
    }
  });
}

async function newPage(viewport = { width: 1440, height: 900 }) {
  const context = await browser.newContext({ viewport, locale: 'en-US' });
  const page = await context.newPage();
  return page;
}

/** A call made by the page itself: its session cookie, plus the CSRF header. */
function pageFetch(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const r = await fetch(path, {
      method,
      headers: { 'content-type': 'application/json', 'x-edgedesk-csrf': '1' },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: await r.text() };
  }, [method, path, body]);
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  host = await Host.start();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await host?.stop();
});

test('the first-run setup link creates the workspace, then the owner signs out and in', async () => {
  const link = await host.setupLink();
  assert.match(link, /^\/console\/\?setup=/);
  owner = await newPage();
  watch(owner, 'owner');
  await owner.goto(host.base + link);
  await owner.getByRole('heading', { name: 'Create your workspace' }).waitFor();
  await owner.getByLabel('Workspace name').fill(OWNER.workspace);
  await owner.getByLabel('Your name').fill(OWNER.name);
  await owner.getByLabel('Email').fill(OWNER.email);
  await owner.getByLabel('Password').fill(OWNER.password);
  await owner.getByRole('button', { name: 'Create workspace' }).click();
  await owner.getByRole('heading', { name: 'Conversations' }).waitFor();
  assert.ok(!owner.url().includes('setup='), 'the one-time token leaves the address bar');

  const me = JSON.parse((await pageFetch(owner, 'GET', '/v1/auth/me')).body);
  state.tenant = me.tenant.id;
  state.ownerId = me.agent.id;
  assert.equal(me.agent.role, 'owner');

  await owner.getByTestId('sign-out').click();
  await owner.getByRole('heading', { name: 'Sign in to EdgeDesk' }).waitFor();
  assert.equal((await pageFetch(owner, 'GET', '/v1/auth/me')).status, 401, 'signing out ends the session');
  await owner.getByLabel('Password').fill('not the password');
  await owner.getByLabel('Email').fill(OWNER.email);
  await owner.getByRole('button', { name: 'Sign in' }).click();
  await owner.getByText('Wrong email or password.').waitFor();
  await owner.getByLabel('Password').fill(OWNER.password);
  await owner.getByRole('button', { name: 'Sign in' }).click();
  await owner.getByRole('heading', { name: 'Conversations' }).waitFor();
  // A reload keeps the session (HTTP-only cookie).
  await owner.reload();
  await owner.getByRole('heading', { name: 'Conversations' }).waitFor();
});

test('a visitor message from the widget appears live in the inbox', async () => {
  await owner.getByTestId('filter-all').click();
  await owner.getByText('No conversations yet').waitFor();
  const ada = await Visitor.start(host, state.tenant, 'Ada Lovelace', 'ada@example.com');
  state.ada = ada;
  const first = await ada.say('Hi! My order #1009 has not arrived yet. Can you check?');
  state.conversation = first.conversation_id;
  const row = owner.getByTestId('conversation-row').filter({ hasText: 'Ada Lovelace' });
  await row.waitFor({ timeout: LIVE_MS });
  await owner.getByTestId('conversation-row').filter({ hasText: 'has not arrived yet' }).waitFor({ timeout: LIVE_MS });
  await row.getByTestId('unread-badge').waitFor();

  // More visitors, so the inbox looks like a working day.
  const grace = await Visitor.start(host, state.tenant, 'Grace Hopper', 'grace@navy.test');
  await grace.say('Do you ship to Canada? I would like to order two tents.');
  const linus = await Visitor.start(host, state.tenant, 'Linus Chen', 'linus@example.cn');
  await linus.say('你好，我想修改收货地址。');
  await owner.getByTestId('conversation-row').filter({ hasText: 'Grace Hopper' }).waitFor({ timeout: LIVE_MS });
  await owner.getByTestId('conversation-row').filter({ hasText: 'Linus Chen' }).waitFor({ timeout: LIVE_MS });
  const count = await owner.getByTestId('conversation-row').count();
  assert.equal(count, 3);
});

test('a reply from the console reaches the visitor, with the typing signal before it', async () => {
  await owner.getByTestId('conversation-row').filter({ hasText: 'Ada Lovelace' }).click();
  await owner.getByTestId('conversation-title').filter({ hasText: 'Ada Lovelace' }).waitFor();
  await owner.getByTestId('thread').getByText('has not arrived yet').waitFor();
  await owner.getByTestId('contact-panel').getByText('ada@example.com').waitFor();

  // The visitor types: the agent sees it.
  await state.ada.call('POST', '/typing', { typing: true });
  await owner.getByTestId('visitor-typing').waitFor({ timeout: LIVE_MS });
  await state.ada.say('It was supposed to arrive on Monday.');
  await owner.getByTestId('thread').getByText('supposed to arrive on Monday').waitFor({ timeout: LIVE_MS });

  // The agent types: the visitor's feed says so.
  const input = owner.getByTestId('composer-input');
  await input.click();
  await input.pressSequentially('Thanks Ada, I am checking with the carrier now.', { delay: 5 });
  const deadline = Date.now() + 5_000;
  let typing = false;
  while (!typing && Date.now() < deadline) {
    const feed = await state.ada.call('GET', '/poll?after=1000&rev=0&wait=0');
    typing = feed.body.events.some((e) => e.type === 'typing' && e.from === 'agent' && e.typing);
    if (!typing) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(typing, 'the visitor sees the agent typing');

  await input.press('Enter');
  await owner.getByTestId('thread').getByTestId('message').filter({ hasText: 'checking with the carrier' }).waitFor();
  const seen = await state.ada.messages();
  const reply = seen.find((m) => m.body.includes('checking with the carrier'));
  assert.ok(reply, 'the reply reached the visitor');
  assert.equal(reply.sender.kind, 'agent');
  assert.equal(reply.sender.id, state.ownerId);
  // Read while open: the row's unread count goes away.
  await owner.getByTestId('conversation-row').filter({ hasText: 'Ada Lovelace' })
    .getByTestId('unread-badge').waitFor({ state: 'detached', timeout: LIVE_MS });
});

test('assign, private note and resolve', async () => {
  await owner.getByTestId('assign-me').click();
  await owner.getByTestId('assign-me').waitFor({ state: 'detached' });
  let c = (await host.api('GET', `/v1/conversations/${state.conversation}`, null, await ownerCookie())).body;
  assert.equal(c.assignee_id, state.ownerId);

  await owner.getByTestId('mode-note').click();
  await owner.getByTestId('composer-input').fill('VIP customer: offer free express shipping on the replacement.');
  await owner.getByTestId('send').click();
  await owner.getByTestId('note').filter({ hasText: 'VIP customer' }).waitFor();
  const visible = await state.ada.messages();
  assert.ok(!visible.some((m) => m.body.includes('VIP customer')), 'visitors never see private notes');

  await owner.getByTestId('label-input').fill('shipping vip');
  await owner.getByTestId('label-input').press('Enter');
  await owner.getByTestId('labels').getByText('shipping').waitFor();
  await owner.getByTestId('labels').getByText('vip').waitFor();

  // Review screenshots: the inbox and the conversation.
  await owner.getByTestId('mode-reply').click();
  await owner.screenshot({ path: join(artifacts, 'console-conversation.png') });

  // Resolve with the keyboard shortcut.
  await owner.locator('body').click({ position: { x: 600, y: 120 } });
  await owner.keyboard.press('Escape');
  await owner.keyboard.press('e');
  await owner.getByTestId('conversation-status').getByText('Resolved').waitFor();
  c = (await host.api('GET', `/v1/conversations/${state.conversation}`, null, await ownerCookie())).body;
  assert.equal(c.status, 'resolved');
  assert.deepEqual(c.labels, ['shipping', 'vip']);

  await owner.goto(`${host.base}/console/#/inbox`);
  await owner.getByTestId('conversation-row').first().waitFor();
  await owner.screenshot({ path: join(artifacts, 'console-inbox.png') });
});

async function ownerCookie() {
  const cookies = await owner.context().cookies();
  const session = cookies.find((c) => c.name === 'edgedesk_session');
  return { cookie: `${session.name}=${session.value}` };
}

test("a viewer has no reply button, and the API refuses the viewer's forged reply", async () => {
  await owner.goto(`${host.base}/console/#/settings/agents`);
  const form = owner.getByTestId('add-agent');
  await form.getByLabel('Name').fill(VIEWER.name);
  await form.getByLabel('Email').fill(VIEWER.email);
  await form.getByLabel('Role').selectOption('viewer');
  await form.getByRole('button', { name: 'Add agent' }).click();
  const url = await owner.getByTestId('invite-url').textContent();
  assert.match(url, /\/console\/\?invite=/);

  const viewer = await newPage({ width: 1024, height: 768 });
  watch(viewer, 'viewer');
  await viewer.goto(url);
  await viewer.getByLabel('Choose a password').fill(VIEWER.password);
  await viewer.getByRole('button', { name: 'Set password and sign in' }).click();
  await viewer.getByRole('heading', { name: 'Conversations' }).waitFor();
  await viewer.goto(`${host.base}/console/#/inbox/${state.conversation}`);
  await viewer.getByTestId('thread').getByText('checking with the carrier').waitFor();
  await viewer.getByTestId('viewer-notice').waitFor();
  assert.equal(await viewer.getByTestId('send').count(), 0, 'no reply button for a viewer');
  assert.equal(await viewer.getByTestId('composer-input').count(), 0);
  assert.equal(await viewer.getByTestId('resolve').count(), 0);
  assert.equal(await viewer.getByRole('link', { name: 'API keys' }).count(), 0);
  await viewer.screenshot({ path: join(artifacts, 'console-viewer-tablet.png') });

  const forged = await pageFetch(viewer, 'POST', `/v1/conversations/${state.conversation}/messages`, { body: 'forged reply' });
  assert.equal(forged.status, 403, forged.body);
  assert.equal(JSON.parse(forged.body).error.code, 'forbidden');
  const visible = await state.ada.messages();
  assert.ok(!visible.some((m) => m.body === 'forged reply'));
  await viewer.context().close();
});

test('an API key created in settings works over HTTP until it is revoked', async () => {
  await owner.goto(`${host.base}/console/#/settings/keys`);
  await owner.getByTestId('key-name').fill('Order system');
  await owner.getByTestId('key-scope').selectOption('agent');
  await owner.getByTestId('create-key').click();
  const key = (await owner.getByTestId('new-key-value').textContent()).trim();
  assert.match(key, /^edk\./);
  const bearer = { authorization: `Bearer ${key}` };
  const works = await host.api('GET', '/v1/conversations?limit=5', null, bearer);
  assert.equal(works.status, 200);
  assert.ok(works.body.data.length >= 3);
  await owner.screenshot({ path: join(artifacts, 'console-settings-keys.png') });

  await owner.getByTestId('revoke-key').click();
  await owner.getByTestId('confirm-revoke').click();
  await owner.getByTestId('key-row').getByText('Revoked').waitFor();
  const refused = await host.api('GET', '/v1/conversations?limit=5', null, bearer);
  assert.equal(refused.status, 401);
});

test('an agent can reply but has no API keys page, and the API refuses the forged key', async () => {
  await owner.goto(`${host.base}/console/#/settings/agents`);
  const form = owner.getByTestId('add-agent');
  await form.getByLabel('Name').fill('Alan Agent');
  await form.getByLabel('Email').fill('alan@acme.test');
  await form.getByLabel('Role').selectOption('agent');
  await form.getByRole('button', { name: 'Add agent' }).click();
  await owner.getByTestId('invite-link').filter({ hasText: 'Alan Agent' }).waitFor();
  const url = await owner.getByTestId('invite-url').textContent();

  const agent = await newPage({ width: 1280, height: 800 });
  watch(agent, 'agent');
  await agent.goto(url);
  await agent.getByLabel('Choose a password').fill('agent passphrase 42');
  await agent.getByRole('button', { name: 'Set password and sign in' }).click();
  await agent.getByRole('heading', { name: 'Conversations' }).waitFor();
  await agent.goto(`${host.base}/console/#/inbox/${state.conversation}`);
  await agent.getByTestId('thread').getByText('checking with the carrier').waitFor();
  await agent.getByTestId('send').waitFor();
  await agent.goto(`${host.base}/console/#/settings/profile`);
  await agent.getByTestId('settings-profile').waitFor();
  assert.equal(await agent.getByTestId('settings-keys').count(), 0, 'no API keys page for an agent');
  assert.equal(await agent.getByTestId('settings-email').count(), 0, 'no Email page for an agent');
  const forged = await pageFetch(agent, 'POST', '/v1/api-keys', { name: 'sneaky', scope: 'admin' });
  assert.equal(forged.status, 403, forged.body);
  await agent.context().close();
});

test('filters by owner, team and status; snooze until; states that say what to do', async () => {
  await owner.goto(`${host.base}/console/#/inbox`);
  const rows = owner.getByTestId('conversation-row');
  const row = (name) => rows.filter({ hasText: name });

  // Unassigned and open: the two visitors nobody picked up; Ada (mine, resolved) is not there.
  await owner.getByTestId('filter-unassigned').click();
  await owner.getByTestId('filter-status').selectOption('open');
  await row('Grace Hopper').waitFor();
  await row('Linus Chen').waitFor();
  await expectCount(row('Ada Lovelace'), 0);
  await expectCount(rows, 2);

  // Mine: nothing open, and the empty state says where to find work.
  await owner.getByTestId('filter-mine').click();
  await owner.getByText('Nothing assigned to you here').waitFor();
  await expectCount(rows, 0);
  await owner.getByTestId('filter-status').selectOption('resolved');
  await row('Ada Lovelace').waitFor();
  await expectCount(rows, 1);

  // Put Grace in the billing team from the side panel, then filter by that team.
  await owner.getByTestId('filter-all').click();
  await owner.getByTestId('filter-status').selectOption('open');
  await row('Grace Hopper').click();
  await owner.getByTestId('conversation-title').filter({ hasText: 'Grace Hopper' }).waitFor();
  const team = owner.getByTestId('team-input');
  await team.fill('billing');
  await team.press('Enter');
  await team.blur();
  const graceId = await waitForConversation((c) => c.team === 'billing');
  await owner.getByTestId('filter-team').click();
  const teamFilter = owner.getByLabel('Team name', { exact: true });
  await teamFilter.fill('billing');
  await teamFilter.press('Enter');
  await row('Grace Hopper').waitFor();
  await expectCount(row('Linus Chen'), 0);

  // Snooze Grace until tomorrow morning: the conversation says until when.
  await owner.goto(`${host.base}/console/#/inbox/${graceId}`);
  await owner.getByTestId('snooze').click();
  await owner.getByRole('menuitem', { name: 'Until tomorrow 9:00' }).click();
  await owner.getByTestId('conversation-status').getByText('Snoozed').waitFor();
  await owner.getByText(/^Snoozed until /).waitFor();
  const grace = (await host.api('GET', `/v1/conversations/${graceId}`, null, await ownerCookie())).body;
  assert.equal(grace.status, 'snoozed');
  assert.ok(Date.parse(grace.snoozed_until) > Date.now() + 60 * 60 * 1000, grace.snoozed_until);
  assert.equal(new Date(grace.snoozed_until).getMinutes(), 0);

  // A conversation that does not exist: the view says so instead of spinning.
  await owner.goto(`${host.base}/console/#/inbox/cnv_01JD3QXV6ZK8M5N2P4R7S9T0WX`);
  await owner.getByText('This no longer exists').waitFor();
  await owner.getByTestId('filter-all').click();
  await owner.getByTestId('filter-status').selectOption('');
});

/** Waits until a locator matches exactly `n` elements (lists settle after a filter change). */
async function expectCount(locator, n) {
  const deadline = Date.now() + LIVE_MS;
  let count;
  while ((count = await locator.count()) !== n) {
    if (Date.now() > deadline) assert.equal(count, n);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls the owner's view of the conversations until one matches. */
async function waitForConversation(match) {
  const deadline = Date.now() + LIVE_MS;
  for (;;) {
    const list = (await host.api('GET', '/v1/conversations?limit=50', null, await ownerCookie())).body.data;
    const found = list.find(match);
    if (found) return found.id;
    if (Date.now() > deadline) throw new Error('no conversation matched');
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('settings show the widget snippet and save the widget appearance and allowed origins', async () => {
  await owner.goto(`${host.base}/console/#/settings/channels`);
  const snippet = await owner.getByTestId('widget-snippet').textContent();
  assert.ok(snippet.includes(`data-tenant="${state.tenant}"`), snippet);
  assert.ok(snippet.includes(`${host.base}/widget.js`), snippet);

  await owner.goto(`${host.base}/console/#/settings/widget`);
  const form = owner.getByTestId('widget-form');
  await form.waitFor();
  await form.locator('input[maxlength="7"]').fill('#0f766e');
  await owner.getByTestId('allowed-origins').fill('https://shop.acme.test\nhttps://www.acme.test/');
  await form.getByRole('button', { name: 'Save' }).click();
  await owner.getByText('Saved', { exact: true }).waitFor();
  const config = await host.api('GET', `/v1/widget/${state.tenant}/config`);
  assert.equal(config.status, 200);
  assert.equal(config.body.color, '#0f766e');
  const admin = (await host.api('GET', '/v1/tenant/widget', null, await ownerCookie())).body;
  assert.deepEqual(admin.allowed_origins, ['https://shop.acme.test', 'https://www.acme.test']);
});

test('the owner unticks assignment mails in Settings → Profile and the API keeps the choice', async () => {
  await owner.goto(`${host.base}/console/#/settings/profile`);
  const prefs = owner.getByTestId('notifications');
  await prefs.getByRole('heading', { name: 'Email notifications' }).waitFor();
  const assigned = prefs.getByLabel('A conversation is assigned to me');
  await assigned.waitFor();
  assert.equal(await assigned.isChecked(), true);
  assert.equal(await prefs.getByLabel('Someone mentions me in a private note').isChecked(), true);
  assert.equal(await prefs.getByLabel('An SLA warning on my work').isChecked(), true);
  assert.equal(await prefs.getByLabel('A daily digest of my open work').isChecked(), false);
  await prefs.getByText("first email channel").waitFor();
  await assigned.uncheck();
  const saved = await waitForApi(`/v1/agents/${state.ownerId}/notifications`, (b) => b.assigned === false);
  assert.deepEqual(saved, { assigned: false, mention: true, sla_warning: true, digest: false });
  await owner.reload();
  await owner.getByTestId('notifications').getByLabel('A conversation is assigned to me').waitFor();
  assert.equal(await owner.getByTestId('notifications').getByLabel('A conversation is assigned to me').isChecked(), false);
});

test('on a tablet: list and thread side by side in landscape, one at a time upright', async () => {
  const tablet = await browser.newContext({ viewport: { width: 1180, height: 820 }, locale: 'en-US', hasTouch: true });
  await tablet.addCookies(await owner.context().cookies());
  const page = await tablet.newPage();
  watch(page, 'tablet');
  await page.goto(`${host.base}/console/#/inbox`);
  await page.getByTestId('filter-all').click();
  await page.getByTestId('filter-status').selectOption('');
  await page.getByTestId('conversation-row').filter({ hasText: 'Ada Lovelace' }).click();
  await page.getByTestId('conversation-title').filter({ hasText: 'Ada Lovelace' }).waitFor();
  await page.getByTestId('thread').getByText('checking with the carrier').waitFor();
  const list = page.getByTestId('conversation-list');
  assert.ok(await list.isVisible(), 'landscape: the list stays beside the thread');
  const noOverflow = async () => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `nothing runs off the side (${overflow}px)`);
  };
  await noOverflow();
  // The details panel opens over the thread, as a drawer.
  const contact = page.getByTestId('contact-panel');
  if (!(await contact.isVisible())) await page.getByTestId('toggle-details').click();
  await contact.getByText('ada@example.com').waitFor();
  await page.screenshot({ path: join(artifacts, 'console-tablet-landscape.png') });

  await page.setViewportSize({ width: 820, height: 1180 });
  await list.waitFor({ state: 'hidden' });
  const thread = await page.getByTestId('thread').boundingBox();
  assert.ok(thread.width >= 600, `upright: the thread takes the width (${thread.width}px)`);
  await noOverflow();
  await page.screenshot({ path: join(artifacts, 'console-tablet-portrait.png') });
  await page.getByRole('link', { name: 'Back' }).first().click();
  await list.waitFor();
  assert.ok(!(await page.getByTestId('conversation-view').isVisible()));
  await tablet.close();
});

test('the console speaks Simplified Chinese and shows tickets made from conversations', async () => {
  await owner.goto(`${host.base}/console/#/inbox/${state.conversation}`);
  await owner.getByTestId('convert-ticket').click();
  await owner.getByTestId('ticket-subject').waitFor();
  assert.match(await owner.getByTestId('ticket-subject').inputValue(), /order #1009/);
  await owner.getByTestId('create-ticket').click();
  await owner.getByText(/Ticket #1 created/).waitFor();
  await owner.goto(`${host.base}/console/#/tickets`);
  await owner.getByTestId('ticket-row').first().click();
  await owner.getByTestId('ticket-timeline').waitFor();
  assert.equal(await owner.getByTestId('ticket-row').count(), 1, 'the new ticket is listed once');
  await owner.getByTestId('ticket-timeline').getByText('created the ticket').waitFor();
  await owner.getByTestId('ticket-status').selectOption('pending');
  await owner.getByTestId('ticket-save').click();
  await owner.getByTestId('ticket-timeline').getByText('changed').waitFor();
  await owner.screenshot({ path: join(artifacts, 'console-tickets.png') });

  await owner.locator('.rail-lang').selectOption('zh-CN');
  await owner.getByRole('heading', { name: '工单' }).first().waitFor();
  await owner.goto(`${host.base}/console/#/inbox`);
  await owner.getByRole('heading', { name: '会话' }).waitFor();
  await owner.screenshot({ path: join(artifacts, 'console-inbox-zh.png') });
  await owner.locator('.rail-lang').selectOption('en');
});

/** Creates a record through the API as the signed-in owner and returns it. */
async function create(path, body) {
  const r = await pageFetch(owner, 'POST', path, body);
  assert.equal(r.status, 201, `${path}: ${r.body}`);
  return JSON.parse(r.body);
}

/** Polls `GET path` as the owner until `match` accepts the body. */
async function waitForApi(path, match, ms = LIVE_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await host.api('GET', path, null, await ownerCookie());
    if (r.status === 200 && match(r.body)) return r.body;
    if (Date.now() > deadline) assert.fail(`${path} never matched: ${JSON.stringify(r.body)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

test('ticket rows show SLA clocks: a short target breaches, the list sorts by SLA due and filters breached', async () => {
  await create('/v1/sla/policies', { id: 'fast', name: 'High answered within seconds', position: 1,
    conditions: { priorities: ['high'] },
    targets: { first_response: { minutes: 0, seconds: 3, basis: 'calendar', warning_percent: 80 } } });
  await create('/v1/sla/policies', { id: 'hour', name: 'Urgent solved within the hour', position: 2,
    conditions: { priorities: ['urgent'] }, targets: { resolution: { minutes: 60, basis: 'calendar' } } });
  await create('/v1/sla/policies', { id: 'day', name: 'Low solved within ten hours', position: 3,
    conditions: { priorities: ['low'] }, targets: { resolution: { minutes: 600, basis: 'calendar' } } });
  // Created oldest first: the newest-first list and the SLA order differ.
  const urgent = await create('/v1/tickets', { subject: 'Printer jams on tray two', priority: 'urgent' });
  const low = await create('/v1/tickets', { subject: 'Monitor flickers now and then', priority: 'low' });
  const high = await create('/v1/tickets', { subject: 'Checkout page is down', priority: 'high' });
  await waitForApi(`/v1/tickets/${high.id}/sla`, (r) => r.state === 'breached');

  // The row clocks come with the list: no `/sla` request per row.
  const slaRequests = [];
  const countSla = (req) => {
    if (/\/v1\/(tickets|conversations)\/[^/?]+\/sla(\?|$)/.test(new URL(req.url()).pathname)) slaRequests.push(req.url());
  };
  owner.on('request', countSla);
  await owner.goto(`${host.base}/console/#/tickets`);
  const rows = owner.getByTestId('ticket-row');
  const row = (text) => rows.filter({ hasText: text });
  await row('Checkout page is down').locator('[data-testid="sla-badge"][data-sla="breached"]').getByText('Breached').waitFor();
  await row('Printer jams on tray two').locator('[data-testid="sla-badge"][data-sla="running"]').getByText(/due /).waitFor();
  await row('Monitor flickers now and then').locator('[data-testid="sla-badge"][data-sla="running"]').waitFor();
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(slaRequests, [], 'the tickets list asks no per-row SLA report');
  // Tickets the live feed says changed ask for their own clocks again, and only those. Two
  // changes at once arrive in one answer of the feed: both rows must take theirs.
  const tagged = await Promise.all([
    pageFetch(owner, 'PATCH', `/v1/tickets/${urgent.id}`, { tags: ['printer'] }),
    pageFetch(owner, 'PATCH', `/v1/tickets/${low.id}`, { tags: ['monitor'] }),
  ]);
  for (const r of tagged) assert.equal(r.status, 200, r.body);
  await row('Printer jams on tray two').getByText('printer', { exact: true }).waitFor({ timeout: LIVE_MS });
  await row('Monitor flickers now and then').getByText('monitor', { exact: true }).waitFor({ timeout: LIVE_MS });
  await row('Printer jams on tray two').locator('[data-testid="sla-badge"][data-sla="running"]').waitFor();
  await row('Monitor flickers now and then').locator('[data-testid="sla-badge"][data-sla="running"]').waitFor();
  owner.off('request', countSla);
  assert.deepEqual([...new Set(slaRequests.map((u) => new URL(u).pathname))].sort(),
    [`/v1/tickets/${urgent.id}/sla`, `/v1/tickets/${low.id}/sla`].sort());
  const subjects = async () => (await owner.getByTestId('ticket-list').locator('.row-name').allTextContents())
    .map((t) => t.replace(/^#\d+\s*/, '').trim());
  const order = ['Checkout page is down', 'Monitor flickers now and then', 'Printer jams on tray two'];
  assert.deepEqual((await subjects()).slice(0, 3), order, 'newest first by default');

  await owner.getByTestId('ticket-sort').selectOption('sla_due');
  await expectCount(rows, 3); // the ticket without a deadline is not in SLA order
  assert.deepEqual(await subjects(), ['Checkout page is down', 'Printer jams on tray two', 'Monitor flickers now and then']);
  const api = (await host.api('GET', '/v1/tickets?sort=sla_due', null, await ownerCookie())).body.data;
  assert.deepEqual(api.map((t) => t.id), [high.id, urgent.id, low.id]);

  await owner.getByTestId('ticket-sla-filter').selectOption('breached');
  await expectCount(rows, 1);
  await row('Checkout page is down').waitFor();
  await owner.getByTestId('ticket-sla-filter').selectOption('');
  await owner.getByTestId('ticket-sort').selectOption('');
  await expectCount(rows, 4);

  // The ticket shows each target with its due time, what is left and the policy.
  await row('Printer jams on tray two').click();
  const panel = owner.getByTestId('sla-panel');
  await panel.getByText('Policy: Urgent solved within the hour').waitFor();
  const target = panel.locator('[data-testid="sla-target"][data-target="resolution"]');
  await target.getByText('Resolution').waitFor();
  await target.getByText(/due .* · (59|60) min left/).waitFor();

  // The inbox sorts by SLA due too: no conversation has a deadline here.
  await owner.goto(`${host.base}/console/#/inbox`);
  await owner.getByTestId('filter-all').click();
  await owner.getByTestId('filter-sort').selectOption('sla_due');
  await owner.getByText('Nothing here has a running SLA deadline with these filters.').waitFor();
  await owner.getByTestId('filter-sort').selectOption('');
  await owner.getByTestId('conversation-row').first().waitFor();

  // With a policy for conversations, a new chat shows its clock in the inbox and is listed in
  // SLA order.
  await create('/v1/sla/policies', { id: 'chat', name: 'Chats solved within the hour', position: 4,
    conditions: { subjects: ['conversation'] }, targets: { resolution: { minutes: 60, basis: 'calendar' } } });
  const nora = await Visitor.start(host, state.tenant, 'Nora Quist', 'nora@example.com');
  const said = await nora.say('Hello, is the blue tent back in stock?');
  await waitForApi(`/v1/conversations/${said.conversation_id}/sla`, (r) => r.state === 'running');
  const noraRow = owner.getByTestId('conversation-row').filter({ hasText: 'Nora Quist' });
  await noraRow.locator('[data-testid="sla-badge"][data-sla="running"]').getByText(/due /).waitFor({ timeout: LIVE_MS });
  await owner.getByTestId('filter-sort').selectOption('sla_due');
  await noraRow.waitFor();
  await expectCount(owner.getByTestId('conversation-row').filter({ hasText: 'Ada Lovelace' }), 0);
  await owner.getByTestId('filter-sort').selectOption('');
  await owner.getByTestId('conversation-row').filter({ hasText: 'Ada Lovelace' }).waitFor();
});

test('merging ticket B into A in the console leaves B pointing at A, and A shows the merge', async () => {
  const mia = await create('/v1/contacts', { name: 'Mia Moreau', email: 'mia@example.com' });
  state.mia = mia.id;
  const a = await create('/v1/tickets', { subject: 'Refund for order 1234 not received',
    description: 'I was charged twice for order 1234 and the refund has not arrived.', requester_id: mia.id });
  const b = await create('/v1/tickets', { subject: 'Refund not received for order 1234',
    description: 'Charged twice on order 1234, still waiting for the refund.', requester_id: mia.id });
  state.refundTicket = a;

  await owner.goto(`${host.base}/console/#/tickets/${b.id}`);
  await owner.getByTestId('ticket-timeline').waitFor();
  await owner.getByTestId('merge-open').click();
  const dialog = owner.getByRole('dialog');
  await dialog.getByTestId('merge-search').fill(`#${a.number}`);
  await expectCount(dialog.getByTestId('merge-candidate'), 1);
  await dialog.getByTestId('merge-candidate').click();
  await dialog.getByText(`Merge #${b.number} into #${a.number}?`, { exact: false }).waitFor();
  await dialog.getByTestId('merge-confirm').click();
  await owner.getByText(`Merged into #${a.number}`, { exact: true }).waitFor();
  const banner = owner.getByTestId('merged-into');
  await banner.getByRole('link', { name: `#${a.number} Refund for order 1234 not received` }).waitFor();
  assert.equal(await owner.getByTestId('merge-open').count(), 0, 'a merged ticket offers no second merge');

  const got = await host.api('GET', `/v1/tickets/${b.id}`, null, await ownerCookie());
  assert.equal(got.status, 200);
  assert.equal(got.body.merged_into, a.id);
  assert.equal(got.body.status, 'closed');

  await banner.getByRole('link').click();
  await owner.getByTestId('ticket-timeline').getByTestId('event-merged').getByRole('link', { name: b.id }).waitFor();
});

test('a second ticket of the same requester with a similar subject shows its duplicate, merged in one click', async () => {
  const a = state.refundTicket;
  const c = await create('/v1/tickets', { subject: 'Order 1234 refund still not received',
    description: 'My refund for order 1234 has still not arrived.', requester_id: state.mia });
  assert.ok(c.duplicate_candidates.some((d) => d.ticket_id === a.id), JSON.stringify(c.duplicate_candidates));

  await owner.goto(`${host.base}/console/#/tickets/${c.id}`);
  const dup = owner.getByTestId('duplicates').getByTestId('duplicate').filter({ hasText: 'Refund for order 1234 not received' });
  await dup.getByText(/similarity \d+%/).waitFor();
  await dup.getByTestId('duplicate-merge').click();
  await owner.getByTestId('merged-into').getByText(`#${a.number}`).waitFor();
  await waitForApi(`/v1/tickets/${c.id}`, (t) => t.merged_into === a.id);
  await owner.screenshot({ path: join(artifacts, 'console-ticket-merged.png') });
});

/** Polls until `check` answers true. */
async function waitFor(check, ms = LIVE_MS) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('the condition never held');
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function apiJson(method, path, body) {
  const r = await pageFetch(owner, method, path, body);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.body}`);
  return r.body ? JSON.parse(r.body) : null;
}

test('an intent created in settings classifies a phrase in the try-it box, and the bot shows what it detected', async () => {
  await owner.goto(`${host.base}/console/#/settings/bot`);
  await owner.getByRole('heading', { name: 'Intents' }).waitFor();
  await owner.getByText('No intents yet').waitFor();
  const intents = [
    ['order_status', 'where is my order\ntrack my parcel\nmy package has not arrived\nwhen will my delivery come', 'Let me look up your order.'],
    ['opening_hours', 'when are you open\nwhat are your opening hours\nare you open on sunday\nstore hours today', 'We are open 9 to 6.'],
  ];
  for (const [id, examples, reply] of intents) {
    await owner.getByTestId('intent-id').fill(id);
    await owner.getByTestId('intent-examples').fill(examples);
    await owner.getByTestId('intent-reply').fill(reply);
    await owner.getByTestId('intent-save').click();
    await owner.getByTestId('intent-row').filter({ hasText: id }).waitFor();
  }
  assert.equal(await owner.getByTestId('intent-row').count(), 2);

  // Edit: a threshold of its own, kept by the server.
  await owner.getByTestId('intent-row').filter({ hasText: 'order_status' }).getByRole('button', { name: 'Edit' }).click();
  await owner.getByRole('heading', { name: 'Edit intent' }).waitFor();
  await owner.getByTestId('intent-threshold').fill('0.25');
  await owner.getByTestId('intent-save').click();
  await owner.getByRole('heading', { name: 'New intent' }).waitFor();
  const stored = await apiJson('GET', '/v1/bot/intents/order_status');
  assert.equal(stored.threshold, 0.25);
  assert.equal(stored.examples.length, 4);

  // A phrase the examples never contained.
  await owner.getByTestId('bot-test-input').fill('where is my parcel, it has not arrived');
  await owner.getByTestId('bot-test-input').press('Enter');
  await owner.getByTestId('bot-test-intent').getByText('order_status').waitFor();
  const confidence = await owner.getByTestId('bot-test-confidence').textContent();
  assert.match(confidence, /^\d+%$/);

  // Delete asks first.
  owner.once('dialog', (d) => {
    assert.equal(d.message(), 'Delete opening_hours?');
    d.accept();
  });
  await owner.getByTestId('intent-row').filter({ hasText: 'opening_hours' }).getByRole('button', { name: 'Delete' }).click();
  await owner.getByTestId('intent-row').filter({ hasText: 'opening_hours' }).waitFor({ state: 'detached' });
  const left = await apiJson('GET', '/v1/bot/intents');
  assert.deepEqual(left.data.map((i) => i.id), ['order_status']);

  // With the bot on, a visitor's message carries what the bot detected into the thread.
  await owner.getByTestId('bot-enabled').check();
  await waitForApi('/v1/bot/settings', (b) => b.enabled === true);
  const kay = await Visitor.start(host, state.tenant, 'Kay Bot', 'kay@example.com');
  const m = await kay.say('Where is my order? It has not arrived, write to kay@example.com');
  await owner.goto(`${host.base}/console/#/inbox/${m.conversation_id}`);
  const detected = owner.getByTestId('message').filter({ hasText: 'write to kay@example.com' }).getByTestId('detected');
  await detected.getByTestId('detected-intent').getByText('order_status').waitFor({ timeout: LIVE_MS });
  await detected.getByTestId('detected-entity').getByText('kay@example.com').waitFor();
  await owner.getByTestId('thread').getByText('Let me look up your order.').waitFor({ timeout: LIVE_MS });

  await owner.goto(`${host.base}/console/#/settings/bot`);
  await owner.getByTestId('bot-enabled').uncheck();
  await waitForApi('/v1/bot/settings', (b) => b.enabled === false);
});

test('a canned response made in settings is inserted by its shortcode with the contact name filled in', async () => {
  await owner.goto(`${host.base}/console/#/settings/canned`);
  await owner.getByText('No canned responses yet').waitFor();
  for (const [code, title, body] of [
    ['greet', 'Greeting', 'Hello {{contact.name}}, thanks for reaching out!'],
    ['greet-later', 'Greeting after hours', 'Hi {{contact.name}}, we will reply in the morning.'],
  ]) {
    await owner.getByTestId('canned-shortcode').fill(code);
    await owner.getByTestId('canned-title').fill(title);
    await owner.getByTestId('canned-body').fill(body);
    await owner.getByTestId('canned-save').click();
    await owner.getByTestId('canned-row').filter({ hasText: title }).waitFor();
  }

  await owner.goto(`${host.base}/console/#/inbox/${state.conversation}`);
  const input = owner.getByTestId('composer-input');
  await input.click();
  await input.pressSequentially('/gre', { delay: 10 });
  const options = owner.getByTestId('canned-picker').getByTestId('canned-option');
  await options.nth(1).waitFor();
  assert.equal(await options.count(), 2);
  assert.equal(await options.nth(0).getAttribute('aria-selected'), 'true');
  await input.press('ArrowDown');
  assert.equal(await options.nth(1).getAttribute('aria-selected'), 'true');
  await input.press('ArrowUp');
  await input.press('Enter');
  await owner.getByTestId('canned-picker').waitFor({ state: 'detached' });
  await waitFor(async () => (await input.inputValue()) === 'Hello Ada Lovelace, thanks for reaching out!');

  // A title word finds it too; Escape closes the list and leaves the text alone.
  await input.fill('');
  await input.pressSequentially('/after', { delay: 10 });
  await owner.getByTestId('canned-option').filter({ hasText: 'Greeting after hours' }).waitFor();
  await input.press('Escape');
  await owner.getByTestId('canned-picker').waitFor({ state: 'detached' });
  assert.equal(await input.inputValue(), '/after');
  await input.fill('');
});

test('a rating the visitor gives after resolve shows in the conversation and in the report', async () => {
  const routing = await apiJson('GET', '/v1/routing/settings');
  routing.csat = { enabled: true, allow_comment: true, window_hours: 24 };
  await apiJson('PUT', '/v1/routing/settings', routing);
  const lee = await Visitor.start(host, state.tenant, 'Lee Rater', 'lee@example.com');
  const m = await lee.say('Can I change the colour of my tent?');
  await apiJson('PATCH', `/v1/conversations/${m.conversation_id}`, { status: 'resolved' });
  const r = await lee.call('POST', '/csat', { rating: 4, comment: 'Quick and kind' });
  assert.equal(r.status, 201, JSON.stringify(r.body));

  await owner.goto(`${host.base}/console/#/inbox/${m.conversation_id}`);
  const csat = owner.getByTestId('csat');
  await csat.getByTestId('csat-rating').getByText('4/5').waitFor();
  await csat.getByTestId('csat-comment').getByText('Quick and kind').waitFor();

  await owner.goto(`${host.base}/console/#/settings/reports`);
  await owner.getByTestId('csat-count').getByText('1', { exact: true }).waitFor();
  assert.equal(await owner.getByTestId('csat-average').textContent(), '4.00');
  assert.match(await owner.getByTestId('csat-bar-4').textContent(), /1$/);
  await owner.screenshot({ path: join(artifacts, 'console-reports.png') });
});

test('an admin creates an SMTP email channel in settings, sees its DNS records and its inbound secret once', async () => {
  await owner.goto(`${host.base}/console/#/settings/email`);
  await owner.getByRole('heading', { name: 'Email channels' }).waitFor();
  await owner.getByText('No email channels yet').waitFor();
  await owner.getByTestId('email-name').fill('Help desk mail');
  await owner.getByTestId('email-from-name').fill('Acme Help');
  await owner.getByTestId('transport-smtp').check();
  await owner.getByTestId('smtp-host').fill('smtp.acme.example');
  assert.equal(await owner.getByTestId('smtp-port').inputValue(), '587');
  await owner.getByTestId('smtp-security').selectOption('tls');
  assert.equal(await owner.getByTestId('smtp-port').inputValue(), '465', 'the usual port follows the security');
  await owner.getByTestId('smtp-security').selectOption('starttls');
  await owner.getByTestId('smtp-port').fill('2525');
  await owner.getByTestId('smtp-username').fill('mailer');
  await owner.getByTestId('smtp-password').fill('smtp password 1');
  await owner.getByTestId('email-create-tickets').check();

  // The server's refusal is shown beside the form, and nothing is created.
  await owner.getByTestId('email-addresses').fill('help+desk@acme.example');
  await owner.getByTestId('email-save').click();
  await owner.getByTestId('email-form-error').getByText(/must not contain '\+'/).waitFor();
  assert.equal((await apiJson('GET', '/v1/channels/email')).data.length, 0);

  // The sender is chosen among the support addresses as they are typed.
  await owner.getByTestId('email-addresses').fill('Help@acme.example\nhelp-desk@acme.example');
  const senders = await owner.getByTestId('email-from-address').locator('option').allTextContents();
  assert.deepEqual(senders, ['help@acme.example', 'help-desk@acme.example']);
  await owner.getByTestId('email-from-address').selectOption('help-desk@acme.example');
  await owner.getByTestId('email-save').click();

  // The secret is shown once, with the inbound URL and the records to publish.
  const secret = (await owner.getByTestId('email-secret').textContent()).trim();
  assert.match(secret, /^[0-9a-f]{32,}$/);
  await owner.getByTestId('email-form-error').waitFor({ state: 'detached' });
  const channels = (await apiJson('GET', '/v1/channels/email')).data;
  assert.equal(channels.length, 1);
  const channel = channels[0];
  assert.deepEqual(channel.addresses, ['help@acme.example', 'help-desk@acme.example']);
  assert.equal(channel.from_address, 'help-desk@acme.example');
  assert.equal(channel.from_name, 'Acme Help');
  assert.equal(channel.create_tickets, true);
  assert.deepEqual(channel.transport, { kind: 'smtp', host: 'smtp.acme.example', port: 2525, security: 'starttls',
    username: 'mailer', password_set: true });
  assert.ok(!JSON.stringify(channels).includes('smtp password 1'), 'the password never comes back');
  assert.ok(!JSON.stringify(channels).includes(secret), 'the secret is in the create answer only');
  assert.equal((await owner.getByTestId('email-inbound-url').textContent()).trim(),
    `${host.base}/v1/channels/email/${channel.id}/inbound`);
  const dns = owner.getByTestId('email-dns');
  const spf = dns.locator('[data-testid="dns-hint"][data-kind="spf"]');
  await spf.getByText('v=spf1 a:smtp.acme.example ~all').waitFor();
  await spf.getByText('TXT', { exact: true }).waitFor();
  await dns.locator('[data-testid="dns-hint"][data-kind="dkim"]').getByText('<selector>._domainkey.acme.example').waitFor();
  await dns.locator('[data-testid="dns-hint"][data-kind="dmarc"]').getByText('_dmarc.acme.example', { exact: true }).waitFor();
  assert.equal(await spf.getByRole('button', { name: 'Copy' }).count(), 2, 'name and value have copy buttons');
  await owner.getByTestId('email-channel-row').filter({ hasText: 'Help desk mail' })
    .getByText('SMTP server · smtp.acme.example:2525').waitFor();
  await dns.scrollIntoViewIfNeeded();
  await owner.screenshot({ path: join(artifacts, 'console-settings-email.png') });

  // Opened again, the channel shows no secret; an empty password keeps the stored one.
  await owner.reload();
  await owner.getByTestId('email-channel-row').filter({ hasText: 'Help desk mail' }).getByRole('button', { name: 'Edit' }).click();
  await owner.getByRole('heading', { name: 'Edit Help desk mail' }).waitFor();
  assert.equal(await owner.getByTestId('email-new-secret').count(), 0, 'the secret is shown only once');
  await owner.getByTestId('secret-keep').getByText('Leave empty to keep it.').waitFor();
  assert.equal(await owner.getByTestId('smtp-password').inputValue(), '');
  assert.equal(await owner.getByTestId('smtp-host').inputValue(), 'smtp.acme.example');
  // Nothing listens on port 9 here: the test send says why it failed.
  await owner.getByTestId('smtp-host').fill('127.0.0.1');
  await owner.getByTestId('smtp-port').fill('9');
  await owner.getByTestId('email-save').click();
  const edited = await waitForApi(`/v1/channels/email/${channel.id}`, (c) => c.transport.port === 9);
  assert.equal(edited.transport.host, '127.0.0.1');
  assert.equal(edited.transport.password_set, true, 'an empty password keeps the stored one');
  await owner.getByTestId('email-test-to').fill('olga@acme.test');
  await owner.getByTestId('email-test-send').click();
  await owner.getByTestId('email-test-result').getByText(/^Not sent: .+/).waitFor({ timeout: 30_000 });
  await owner.getByTestId('email-parked').getByText('No parked mail.').waitFor();
  await owner.getByTestId('email-bounces').getByText('No address bounces.').waitFor();

  // On a tablet the page fits the width; an agent has no Email tab.
  const tablet = await browser.newContext({ viewport: { width: 820, height: 1180 }, locale: 'en-US', hasTouch: true });
  await tablet.addCookies(await owner.context().cookies());
  const page = await tablet.newPage();
  watch(page, 'tablet');
  await page.goto(`${host.base}/console/#/settings/email`);
  await page.getByTestId('email-channel-row').filter({ hasText: 'Help desk mail' }).getByRole('button', { name: 'Edit' }).click();
  await page.getByTestId('email-dns').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `nothing runs off the side (${overflow}px)`);
  await page.screenshot({ path: join(artifacts, 'console-settings-email-tablet.png') });
  await tablet.close();
});

/** A real SMTP server on a free port (nodemailer's `smtp-server`) that keeps every mail it gets. */
async function captureSmtp() {
  const mails = [];
  const waiting = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        const mail = { to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') };
        mails.push(mail);
        waiting.splice(0).forEach((wake) => wake());
        callback();
      });
    },
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.server.address().port,
    /** The first captured mail `pick` accepts, waiting up to `ms`. */
    async next(pick, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = mails.find(pick);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no such mail captured within ${ms} ms (${mails.length} captured)`);
        await new Promise((resolve) => { waiting.push(resolve); setTimeout(resolve, 200); });
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** A mail delivered by the host as its SMTP listener would: `POST /v1/system/mail`. */
async function deliverMail(raw) {
  const r = await fetch(`${host.base}/v1/system/mail`, {
    method: 'POST',
    headers: { 'x-platform-token': host.platformToken, 'x-mail-to': 'support@acme.example',
      'content-type': 'message/rfc822' },
    body: raw,
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return JSON.parse(text).results[0];
}

test('an email conversation shows the subject, sender and original mail, its reply is mailed threaded, and the answer threads back', async () => {
  const smtp = await captureSmtp();
  const channel = await create('/v1/channels/email', { name: 'Support inbox', addresses: ['support@acme.example'],
    from_name: 'Acme Support', transport: { kind: 'smtp', host: '127.0.0.1', port: smtp.port, security: 'none' } });
  assert.ok(channel.inbound_secret);
  const raw = [
    'From: Grace Mail <grace.mail@example.org>',
    'To: Acme Support <support@acme.example>',
    'Cc: Dan Copy <dan@example.org>',
    'Subject: <b>Tent pole</b> snapped on the first night',
    'Message-ID: <tent-pole-1@example.org>',
    'Date: Mon, 07 Dec 2026 09:30:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello, a pole of my Trailhead 2 tent snapped. <img src=x onerror="window.pwned=1">',
    'Can you send a replacement?',
    '',
  ].join('\r\n');
  const r = await fetch(`${host.base}/v1/system/mail`, {
    method: 'POST',
    headers: { 'x-platform-token': host.platformToken, 'x-mail-to': 'support@acme.example',
      'x-mail-from': 'grace.mail@example.org', 'content-type': 'message/rfc822' },
    body: raw,
  });
  const delivered = await r.text();
  assert.equal(r.status, 200, delivered);
  const result = JSON.parse(delivered).results[0];
  assert.equal(result.outcome, 'stored', delivered);
  const conversation = result.conversation_id;
  assert.equal((await apiJson('GET', `/v1/conversations/${conversation}`)).channel, 'email');

  await owner.goto(`${host.base}/console/#/inbox/${conversation}`);
  const mail = owner.getByTestId('message').filter({ hasText: 'a pole of my Trailhead 2 tent snapped' });
  const head = mail.getByTestId('mail-head');
  await head.waitFor();
  assert.equal(await head.getByTestId('mail-subject').textContent(), '<b>Tent pole</b> snapped on the first night');
  assert.equal(await head.getByTestId('mail-from').textContent(), 'Grace Mail <grace.mail@example.org>');
  assert.equal(await head.getByTestId('mail-to').textContent(), 'Acme Support <support@acme.example>');
  assert.equal(await head.getByTestId('mail-cc').textContent(), 'Dan Copy <dan@example.org>');
  // Mail is text: no markup of the sender's reaches the page.
  assert.equal(await owner.getByTestId('thread').locator('b, img').count(), 0);
  assert.equal(await owner.evaluate(() => window.pwned), undefined);
  const original = head.getByTestId('mail-original');
  assert.equal(await original.textContent(), 'Show original');
  assert.equal(await original.getAttribute('target'), '_blank');
  const rawMail = await pageFetch(owner, 'GET', await original.getAttribute('href'));
  assert.equal(rawMail.status, 200);
  assert.ok(rawMail.body.includes('Message-ID: <tent-pole-1@example.org>'), rawMail.body.slice(0, 200));

  // The reply copies two people and blind-copies one.
  await owner.getByTestId('cc-toggle').click();
  await owner.getByTestId('composer-cc').fill('dan@example.org, Eve Boss <eve@example.org>');
  await owner.getByTestId('composer-bcc').fill('audit@acme.example');
  await owner.getByTestId('composer-input').fill('Sorry about the pole, Grace: a replacement is on its way.');
  const sent = owner.waitForRequest((q) => q.method() === 'POST' && q.url().endsWith(`/v1/conversations/${conversation}/messages`));
  await owner.getByTestId('send').click();
  const reply = (await sent).postDataJSON();
  assert.deepEqual(reply.cc, ['dan@example.org', 'eve@example.org']);
  assert.deepEqual(reply.bcc, ['audit@acme.example']);
  const replied = owner.getByTestId('message').filter({ hasText: 'a replacement is on its way' });
  await replied.waitFor();
  await owner.screenshot({ path: join(artifacts, 'console-conversation-email.png') });

  // A note copies nobody, and offers no Cc/Bcc.
  await owner.getByTestId('mode-note').click();
  assert.equal(await owner.getByTestId('cc-toggle').count(), 0);
  await owner.getByTestId('composer-input').fill('Two spare poles left in stock.');
  const noted = owner.waitForRequest((q) => q.method() === 'POST' && q.url().endsWith(`/v1/conversations/${conversation}/messages`));
  await owner.getByTestId('send').click();
  const note = (await noted).postDataJSON();
  assert.equal(note.private, true);
  assert.ok(!('cc' in note) && !('bcc' in note), JSON.stringify(note));
  await owner.getByTestId('note').filter({ hasText: 'Two spare poles' }).waitFor();

  // The reply reaches the customer's side over SMTP, threaded to her mail, copies included.
  const out = await smtp.next((m) => m.raw.includes('a replacement is on its way'), 30_000);
  assert.match(out.raw, /^In-Reply-To: <tent-pole-1@example\.org>/m);
  assert.match(out.raw, /^References: <tent-pole-1@example\.org>/m);
  assert.match(out.raw, /^Subject: Re: <b>Tent pole<\/b> snapped on the first night/m);
  assert.deepEqual(out.to.sort(), ['audit@acme.example', 'dan@example.org', 'eve@example.org', 'grace.mail@example.org']);
  assert.ok(!/^Bcc:/m.test(out.raw), 'a blind copy is not named in the headers');
  // Read again, the reply says it was sent.
  await owner.reload();
  const badge = owner.getByTestId('message').filter({ hasText: 'a replacement is on its way' }).getByTestId('delivery');
  await badge.waitFor({ timeout: LIVE_MS });
  await owner.waitForFunction(() => document.querySelector('[data-testid=delivery][data-state=sent]'), null, { timeout: LIVE_MS });

  // Grace answers the mail: her answer shows in the same conversation.
  const ourId = out.raw.match(/^Message-ID: <([^>]+)>/m)[1];
  const answer = await deliverMail([
    'From: Grace Mail <grace.mail@example.org>',
    'To: Acme Support <support@acme.example>',
    'Subject: Re: Tent pole snapped on the first night',
    'Message-ID: <tent-pole-2@example.org>',
    `In-Reply-To: <${ourId}>`,
    `References: <tent-pole-1@example.org> <${ourId}>`,
    'Date: Mon, 07 Dec 2026 10:30:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Thank you, the new pole fits.',
    '',
    'On Mon, 7 Dec 2026 at 10:00, Acme Support <support@acme.example> wrote:',
    '> Sorry about the pole, Grace: a replacement is on its way.',
    '',
  ].join('\r\n'));
  assert.equal(answer.conversation_id, conversation);
  await owner.getByTestId('message').filter({ hasText: 'Thank you, the new pole fits.' }).waitFor({ timeout: LIVE_MS });
  await smtp.close();

  // A chat from the widget has no Cc/Bcc.
  await owner.goto(`${host.base}/console/#/inbox/${state.conversation}`);
  await owner.getByTestId('composer-input').waitFor();
  await owner.getByTestId('mode-reply').click();
  assert.equal(await owner.getByTestId('cc-toggle').count(), 0);
});

test('no page errors were logged', () => {
  assert.deepEqual(pageErrors, []);
});
