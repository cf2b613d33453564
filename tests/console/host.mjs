// Starts the real local host for the console tests and talks HTTP to it.
//
// Like the Rust suites (tests/harness), the host binary and component come from
// EDGEDESK_HOST_BIN and EDGEDESK_COMPONENT, which `cargo xtask test` sets after building them.
// The console is served from EDGEDESK_CONSOLE_DIR, or console/dist of this repository.
// Every host gets a fresh data directory and a free port.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the suites with \`cargo xtask test\`, which builds the host and the component`);
  }
  return value;
}

function freePort() {
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

/** A running EdgeDesk with the console. */
export class Host {
  static async start() {
    const bin = required('EDGEDESK_HOST_BIN');
    const component = required('EDGEDESK_COMPONENT');
    const consoleDir = process.env.EDGEDESK_CONSOLE_DIR ?? join(repo, 'console', 'dist');
    if (!existsSync(join(consoleDir, 'index.html'))) {
      throw new Error(`${consoleDir}/index.html is missing: build the console first (cargo xtask build)`);
    }
    const dataDir = mkdtempSync(join(tmpdir(), 'edgedesk-console-'));
    const port = await freePort();
    const platformToken = randomBytes(16).toString('hex');
    const child = spawn(bin, [
      '--listen', `127.0.0.1:${port}`,
      '--data-dir', dataDir,
      '--component', component,
      '--console-dir', consoleDir,
      '--var', `platform_token=${platformToken}`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const host = new Host(child, `http://127.0.0.1:${port}`, dataDir, platformToken);
    child.stdout.on('data', (d) => { host.output += d; });
    child.stderr.on('data', (d) => { host.output += d; });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const r = await fetch(`${host.base}/health`);
        if (r.status === 200) break;
      } catch {
        // Not listening yet.
      }
      if (child.exitCode !== null) throw new Error(`the host exited:\n${host.output}`);
      if (Date.now() > deadline) throw new Error(`the host did not become healthy within 60 s:\n${host.output}`);
      await sleep(50);
    }
    return host;
  }

  constructor(child, base, dataDir, platformToken) {
    this.child = child;
    this.base = base;
    this.dataDir = dataDir;
    this.platformToken = platformToken;
    this.output = '';
  }

  /**
   * The first-run setup link (`/console/?setup=…`): the one the host printed (its log or
   * `setup-link.txt` in the data directory), or else one asked for with the platform token,
   * which is what the host does at first run.
   */
  async setupLink() {
    const deadline = Date.now() + 5_000;
    const file = join(this.dataDir, 'setup-link.txt');
    while (Date.now() < deadline) {
      if (existsSync(file)) {
        const url = new URL(readFileSync(file, 'utf8').trim(), this.base);
        return url.pathname + url.search;
      }
      const printed = this.output.match(/\/console\/\?setup=[A-Za-z0-9._-]+/);
      if (printed) return printed[0];
      await sleep(100);
    }
    const r = await this.api('POST', '/v1/system/setup-link', null, { 'x-platform-token': this.platformToken });
    if (r.status !== 200) throw new Error(`no setup link: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.url;
  }

  /** One HTTP call; answers `{status, body}` with the body parsed when it is JSON. */
  async api(method, path, body, headers = {}) {
    const r = await fetch(`${this.base}${path}`, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: r.status, body: parsed };
  }

  async stop() {
    if (this.child.exitCode === null) {
      this.child.kill('SIGKILL');
      await new Promise((r) => this.child.once('exit', r));
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A visitor on the tenant's site, talking to the widget API. */
export class Visitor {
  static async start(host, tenant, name, email) {
    const r = await host.api('POST', `/v1/widget/${tenant}/session`, { name, email });
    if (r.status !== 200) throw new Error(`widget session: ${r.status} ${JSON.stringify(r.body)}`);
    return new Visitor(host, tenant, r.body.token);
  }

  constructor(host, tenant, token) {
    this.host = host;
    this.tenant = tenant;
    this.token = token;
  }

  call(method, path, body) {
    return this.host.api(method, `/v1/widget/${this.tenant}${path}`, body, { authorization: `Visitor ${this.token}` });
  }

  async say(body) {
    const r = await this.call('POST', '/messages', { body });
    if (r.status !== 201) throw new Error(`visitor message: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async messages() {
    const r = await this.call('GET', '/messages?after=0');
    if (r.status !== 200) throw new Error(`visitor messages: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.data;
  }
}

export const repoRoot = repo;
