// `chalet serve` in Debian's Chromium: a tab reloads only when its own page changed, a changed
// stylesheet is swapped in without a reload, and a broken edit shows its position over the last
// good page. Run by scripts/e2e with CHALET (the binary) and REPO set.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { launch } = require('./common.cjs');

const CHALET = process.env.CHALET;
const REPO = process.env.REPO;

let browser, server, dir, base;

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

async function version() {
  const r = await fetch(`${base}/__chalet/wait?v=0`);
  return (await r.json()).version;
}

/** Edits a file and waits for the build it starts to be announced. */
async function edit(rel, change) {
  const before = await version();
  const file = path.join(dir, rel);
  fs.writeFileSync(file, change(fs.readFileSync(file, 'utf8')));
  for (let i = 0; i < 200; i++) {
    if ((await version()) > before) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no build after editing ${rel}`);
}

before(async () => {
  assert.ok(CHALET && REPO, 'run through scripts/e2e (CHALET, REPO)');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chalet-serve-'));
  fs.cpSync(path.join(REPO, 'generator/tests/fixtures/valid/minimal'), dir, { recursive: true });
  fs.cpSync(path.join(REPO, 'themes'), path.join(dir, 'themes'), { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(CHALET, ['serve', '--port', String(port)], { cwd: dir, stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${base}/`)).ok) break; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('serve reloads only the tabs whose page changed and swaps a stylesheet in place', async () => {
  const p = await (await browser.newContext()).newPage();
  await p.goto(`${base}/chalets/cire-et-meche/fondants/`);
  await p.waitForLoadState('load');
  await new Promise((r) => setTimeout(r, 500)); // the reload script knows the current build
  await p.evaluate(() => { window.__still = true; });
  const stillHere = () => p.evaluate(() => window.__still === true);

  // Another chalet's product: this tab has nothing to show.
  await edit('content/chalets/bons-du-carre/products/menu-pour-deux.md', (t) => t.replace(/\n*$/, '\n\nÀ réserver.\n'));
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(await stillHere(), 'not reloaded for another page');

  // The stylesheet: new rules without a reload.
  await edit('themes/default/static/style.css', (t) => `${t}\nbody{outline:3px solid rgb(1,2,3)}\n`);
  await p.waitForFunction(() => getComputedStyle(document.body).outlineColor === 'rgb(1, 2, 3)', null, { timeout: 10000 });
  assert.ok(await stillHere(), 'the stylesheet was swapped, the page not reloaded');

  // This page's own text: reloaded, showing the edit.
  await Promise.all([
    p.waitForEvent('load', { timeout: 10000 }),
    edit('content/chalets/cire-et-meche/products/fondants.md', (t) => t.replace('Fait sur commande.', 'Coulés ce matin.')),
  ]);
  await p.getByText('Coulés ce matin.').waitFor();
  assert.equal(await p.evaluate(() => window.__still), undefined, 'reloaded');

  // A broken edit: its position over the last good page.
  await edit('content/chalets/cire-et-meche/products/fondants.md', (t) => t.replace('price: "6,90"', 'price: "gratuit"'));
  const overlay = p.locator('#__chalet_errors');
  await overlay.waitFor({ timeout: 10000 });
  assert.match(await overlay.innerText(), /fondants\.md:3:8: price `gratuit`/);
  assert.ok(await p.getByText('Coulés ce matin.').isVisible(), 'the last good page stays');
});
