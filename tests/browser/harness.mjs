// Test harness for the widget's browser suite: starts the real local host (the same way the Rust
// end-to-end harness does, from EDGEDESK_HOST_BIN and EDGEDESK_COMPONENT) on a free port with a
// temporary data directory, serving the built widget and its demo pages; talks to the REST API
// with tenant keys; and drives Debian's Chromium through playwright-core.

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(ROOT, 'target', 'browser-artifacts');
const WIDGET_DIR = process.env.EDGEDESK_WIDGET_DIR || join(ROOT, 'widget', 'dist');
const DEMO_DIR = join(ROOT, 'widget', 'demo');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run the suite with \`cargo xtask test\` (it builds the host and the component)`);
  }
  return v;
}

async function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A running host with its own data directory and port. */
export class Host {
  static async start() {
    if (!existsSync(join(WIDGET_DIR, 'widget.js'))) {
      throw new Error(`${WIDGET_DIR}/widget.js is missing: build the widget first (cargo xtask build)`);
    }
    const h = new Host();
    h.bin = required('EDGEDESK_HOST_BIN');
    h.component = required('EDGEDESK_COMPONENT');
    h.dataDir = mkdtempSync(join(tmpdir(), 'edgedesk-browser-'));
    h.port = await freePort();
    h.base = `http://127.0.0.1:${h.port}`;
    await h.spawn();
    return h;
  }

  async spawn() {
    this.child = spawn(this.bin, [
      '--listen', `127.0.0.1:${this.port}`,
      '--data-dir', this.dataDir,
      '--component', this.component,
      '--widget-dir', WIDGET_DIR,
      '--demo-dir', DEMO_DIR,
    ], { stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const r = await fetch(`${this.base}/health`);
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('host did not become healthy within 60 s');
      if (this.child.exitCode !== null) throw new Error(`host exited with ${this.child.exitCode}`);
      await sleep(50);
    }
  }

  /** Kills the host abruptly (SIGKILL, no graceful shutdown). */
  async kill() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop() {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Creates a tenant and returns an API client holding its admin key. */
  async tenant(name) {
    const r = await fetch(`${this.base}/v1/tenants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    const body = await r.json();
    if (r.status !== 201) throw new Error(`tenant creation: ${r.status} ${JSON.stringify(body)}`);
    return new Api(this.base, body.tenant.id, body.api_key.key);
  }
}

/** REST calls with one tenant's key. */
export class Api {
  constructor(base, tenant, key) {
    this.base = base;
    this.tenant = tenant;
    this.key = key;
  }

  async call(method, path, body) {
    const r = await fetch(this.base + path, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  async ok(method, path, body) {
    const r = await this.call(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** The tenant's conversations, newest first. */
  async conversations() {
    return (await this.ok('GET', '/v1/conversations')).data;
  }

  async messages(conversation) {
    return (await this.ok('GET', `/v1/conversations/${conversation}/messages?limit=100`)).data;
  }

  /** Polls until the tenant has exactly one conversation, and returns it. */
  async onlyConversation(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await this.conversations();
      if (list.length === 1) return list[0];
      if (list.length > 1) throw new Error(`expected one conversation, found ${list.length}`);
      if (Date.now() > deadline) throw new Error('no conversation appeared');
      await sleep(100);
    }
  }

  /** Sets the tenant's identity secret and returns it. */
  async identitySecret() {
    return (await this.ok('POST', '/v1/tenant/widget/identity-secret')).identity_secret;
  }
}

/** What a site's server computes to vouch for a user. */
export function identityHash(secret, userId) {
  return createHmac('sha256', secret).update(userId).digest('hex');
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * A fresh context and page (own storage and cache) that records console errors, failed
 * requests and page errors, so a test can assert a clean run.
 */
export async function openPage(browser, url, options = {}) {
  const context = await browser.newContext(options.context || {});
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  if (options.beforeGoto) await options.beforeGoto(page);
  if (url) await page.goto(url);
  return { context, page, problems };
}

export function shadow(page, selector) {
  // Playwright's CSS engine pierces open shadow roots.
  return page.locator(`edgedesk-chat ${selector}`);
}

/** Waits until the loader reports the widget interactive; returns that time in ms. */
export async function widgetReady(page, timeout = 15_000) {
  await page.waitForFunction(() => window.EdgeDesk && window.EdgeDesk.readyMs !== undefined, null, { timeout });
  return page.evaluate(() => window.EdgeDesk.readyMs);
}

/** Waits until the tenant's config reached the widget (the header shows the tenant's name). */
export async function configLoaded(page, name, timeout = 15_000) {
  await shadow(page, '.t').filter({ hasText: name }).waitFor({ state: 'attached', timeout });
}

/** The texts of the message list, in order (sender label, body, attachments). */
export async function messageTexts(page) {
  return page.evaluate(() => {
    const host = document.querySelector('edgedesk-chat');
    return [...host.shadowRoot.querySelectorAll('.m li')].map((li) => ({
      mine: li.classList.contains('me'),
      pending: li.classList.contains('pe'),
      failed: li.classList.contains('fa'),
      text: [...li.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(''),
      status: li.querySelector('.mt span')?.textContent ?? '',
    }));
  });
}

/** Waits until the list contains a message with this body, stored (not pending). */
export async function waitForMessage(page, body, timeout = 10_000) {
  await page.waitForFunction((b) => {
    const host = document.querySelector('edgedesk-chat');
    return [...host.shadowRoot.querySelectorAll('.m li:not(.pe)')].some((li) =>
      [...li.childNodes].some((n) => n.nodeType === 3 && n.textContent === b));
  }, body, { timeout, polling: 10 });
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

export async function sendFromWidget(page, text) {
  const box = shadow(page, 'form.c textarea');
  await box.fill(text);
  await box.press('Enter');
  await waitForMessage(page, text);
}

export { sleep, readdirSync };
