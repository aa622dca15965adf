// An artisan applies through the form (/exposer/), in Debian's Chromium: fills in a chalet with
// two products and photos, sees it previewed with the site's own templates, makes a mistake and
// reads `chalet check`'s very words beside the field, downloads the zip; `chalet import` takes
// it and `chalet build` puts the chalet on the square. Run by scripts/e2e (SITE, DIST, CHALET,
// REPO, SHOTS).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { launch, axe } = require('./common.cjs');

const { SITE, CHALET, REPO, CHECKOUT_FN, S3, BUCKET } = process.env;
// The site the checkout function answers (its CORS allows that origin alone): the build the
// shopper's walk uses.
const SHOP = process.env.SHOP_SITE || SITE;
const SHOTS = process.env.SHOTS || 'target/e2e/screenshots';
const PHONE = { width: 390, height: 844 };
// Photos from the example market: a candle and a jar.
const PHOTO = (chalet, file) => path.join(REPO, 'content/chalets', chalet, 'products', file);
const CANDLE_PHOTO = PHOTO('la-cire-d-outremeuse', 'bougie-pain-d-epices.jpg');
// A phone's portrait: stored 1600 × 1200 with EXIF orientation 6 (turn 90° to stand upright).
const PORTRAIT = () => path.join(REPO, 'generator/tests/fixtures/valid/photos/content/chalets/photos/rotated.jpg');

/** A PNG of `width` × `height` pixels in one colour: a camera-sized photo without a camera. */
function bigPng(width, height) {
  const zlib = require('node:zlib');
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const head = Buffer.alloc(13);
  head.writeUInt32BE(width, 0);
  head.writeUInt32BE(height, 4);
  head[8] = 8; // 8 bits per channel
  head[9] = 2; // RGB
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set([196, 120, 40], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', head),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** A JPEG's width and height, from its frame header. */
function jpegSize(bytes) {
  for (let i = 2; i + 9 < bytes.length;) {
    const marker = bytes.readUInt16BE(i);
    const length = bytes.readUInt16BE(i + 2);
    if (marker >= 0xffc0 && marker <= 0xffcf && ![0xffc4, 0xffc8, 0xffcc].includes(marker)) {
      return { height: bytes.readUInt16BE(i + 5), width: bytes.readUInt16BE(i + 7) };
    }
    i += 2 + length;
  }
  throw new Error('no frame header');
}

let browser;
before(async () => {
  assert.ok(SITE && CHALET && REPO, 'run through scripts/e2e (SITE, CHALET, REPO)');
  for (const p of [CANDLE_PHOTO]) assert.ok(fs.existsSync(p), `${p} exists`);
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
});
after(async () => { if (browser) await browser.close(); });

function run(args, opts = {}) {
  const r = spawnSync(CHALET, args, { encoding: 'utf8', ...opts });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The form's summary of errors (not its warnings): each as the checker printed it. */
const shownProblems = (p) => p.$$eval('#apply-problems ul[data-severity="error"] code', (els) => els.map((e) => e.textContent));

/** A chalet with two products and their photos, as an artisan fills it in. */
async function fillChalet(p) {
  await p.fill('#f-name', 'Chez Lina');
  await p.fill('#f-artisan', 'Lina Rose');
  await p.fill('#f-town', 'Herstal');
  await p.selectOption('#f-category', 'bougies');
  await p.fill('#f-tagline', 'Bougies coulées à la main');
  await p.fill('#f-story', 'Je coule mes bougies dans mon atelier de **Herstal** depuis dix ans.');
  await p.setInputFiles('#f-cover', PORTRAIT());
  await p.fill('#f-email', 'lina@example.org');
  await p.fill('#f-legal-name', 'Lina Rose');
  await p.selectOption('#f-trader-kind', 'private');
  await p.fill('#f-address', 'Rue Haute 1, 4040 Herstal');
  await p.fill('#f-pickup', "À l'atelier, le samedi de 10 h à 16 h");

  // The first product: a candle with its photo.
  await p.fill('#p1-p-name', 'Bougie étoile');
  await p.fill('#p1-p-price', '12,50');
  await p.fill('#p1-p-stock', '8');
  await p.fill('#p1-p-description', "Cire d'abeille, mèche en coton.");
  await p.setInputFiles('#p1-p-photos', CANDLE_PHOTO);
  await p.waitForSelector('#p1-p-photos ~ .apply-photos li img[src^="data:image/jpeg"]');
  await p.fill('.apply-product[data-key="p1"] .apply-photos input', 'Une bougie en forme d\'étoile');

  // The second: food, which needs its quantity and allergens.
  await p.click('#apply-add-product');
  await p.fill('#p2-p-name', 'Sirop de Liège');
  await p.fill('#p2-p-price', '6.90');
  await p.selectOption('#p2-p-kind', 'food');
  await p.fill('#p2-p-net', '450 g');
  await p.fill('#p2-p-allergens', '');
  await p.fill('#p2-p-description', 'Poires et pommes, cuit au chaudron.');
  // A camera-sized photo: 3,600 × 1,200.
  await p.setInputFiles('#p2-p-photos', { name: 'IMG_0042.PNG', mimeType: 'image/png', buffer: bigPng(3600, 1200) });
  await p.waitForSelector('#p2-p-photos ~ .apply-photos li img[src^="data:image/jpeg"]');
  await p.fill('.apply-product[data-key="p2"] .apply-photos input', 'Un pot de sirop');
}

test('an artisan fills in the form, sees the preview and chalet check\'s words, and the zip joins the market', async () => {
  const context = await browser.newContext({ viewport: PHONE, locale: 'fr-BE', acceptDownloads: true });
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  p.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`); });

  await p.goto(`${SITE}/exposer/`);
  await p.waitForSelector('#apply[data-ready="true"]', { timeout: 30_000 });
  const wasm = await p.evaluate(() => performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm'))?.name);
  assert.match(wasm || '', /\/assets\/form\/chalet-form\.[0-9a-f]{10}\.wasm$/, 'the checker is loaded by its hashed name');

  await fillChalet(p);

  // Nothing wrong: the preview shows the chalet with the site's templates and the photo.
  await p.waitForFunction(() => !document.getElementById('apply-download').disabled, null, { timeout: 10_000 });
  const frame = p.frameLocator('#apply-preview');
  await frame.locator('h1', { hasText: 'Chez Lina' }).waitFor();
  assert.equal(await frame.locator('text=Bougie étoile').count() > 0, true, 'the product is on the chalet page');
  assert.equal(await frame.locator('link[rel=stylesheet]').getAttribute('href'),
    await p.locator('link[rel=stylesheet]').getAttribute('href'), 'the preview wears the site\'s own stylesheet');
  const pages = await p.$$eval('#apply-preview-page option', (os) => os.map((o) => o.value));
  assert.deepEqual(pages, ['chalets/chez-lina/', 'chalets/chez-lina/bougie-etoile/', 'chalets/chez-lina/sirop-de-liege/']);
  await p.selectOption('#apply-preview-page', 'chalets/chez-lina/bougie-etoile/');
  await frame.locator('h1', { hasText: 'Bougie étoile' }).waitFor();
  const img = await frame.locator('main img').first().getAttribute('src');
  assert.match(img || '', /^data:image\/jpeg;base64,/, 'the artisan\'s own photo stands in for the derivatives');
  await p.screenshot({ path: path.join(SHOTS, 'apply-phone.png'), fullPage: true });

  // A mistake: the price. The checker's words, beside the field and in the summary.
  await p.fill('#p1-p-price', 'douze');
  await p.waitForFunction(() => document.getElementById('apply-download').disabled, null, { timeout: 10_000 });
  const problems = await shownProblems(p);
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0], /^content\/chalets\/chez-lina\/products\/bougie-etoile\.md:3:8: price `douze`/);
  assert.equal(await p.getAttribute('#p1-p-price', 'aria-invalid'), 'true');
  const beside = await p.textContent('#p1-p-price-err');
  assert.ok(beside.startsWith('price `douze`'), beside);
  assert.ok((await p.getAttribute('#p1-p-price', 'aria-describedby')).includes('p1-p-price-err'));
  assert.equal(await p.isDisabled('#apply-send'), true);
  await p.fill('#p1-p-price', '12,50');
  await p.waitForFunction(() => !document.getElementById('apply-download').disabled, null, { timeout: 10_000 });
  // A typo in the stock is the checker's to say, not silently "made to order".
  await p.fill('#p1-p-stock', 'l0');
  await p.waitForFunction(() => document.getElementById('apply-download').disabled, null, { timeout: 10_000 });
  const stockProblem = await shownProblems(p);
  assert.equal(stockProblem.length, 1, stockProblem.join('\n'));
  assert.match(stockProblem[0], /^content\/chalets\/chez-lina\/products\/bougie-etoile\.md:4:\d+: /);
  assert.equal(await p.getAttribute('#p1-p-stock', 'aria-invalid'), 'true');
  await p.fill('#p1-p-stock', '8');
  await p.waitForFunction(() => !document.getElementById('apply-download').disabled, null, { timeout: 10_000 });

  // The zip, as an artisan downloads it.
  const [download] = await Promise.all([p.waitForEvent('download'), p.click('#apply-download')]);
  assert.equal(download.suggestedFilename(), 'chez-lina.zip');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chalet-apply-'));
  const zipPath = path.join(work, 'chez-lina.zip');
  await download.saveAs(zipPath);
  assert.deepEqual(errors, [], 'no script error, no failed request');
  await context.close();

  // The organisers' copy of the market takes it in.
  const content = path.join(work, 'content');
  fs.cpSync(path.join(REPO, 'content'), content, { recursive: true });
  const cache = ['--cache', path.join(REPO, '.cache/chalet'), '--themes', path.join(REPO, 'themes')];
  const imported = run(['import', zipPath, '--content', content, '--themes', path.join(REPO, 'themes')]);
  assert.equal(imported.code, 0, imported.out);
  const folder = path.join(content, 'chalets/chez-lina');
  assert.deepEqual(fs.readdirSync(path.join(folder, 'products')).sort(),
    ['bougie-etoile.jpg', 'bougie-etoile.md', 'sirop-de-liege.jpg', 'sirop-de-liege.md']);
  const yaml = fs.readFileSync(path.join(folder, 'chalet.yaml'), 'utf8');
  assert.ok(yaml.startsWith('# yaml-language-server: $schema='), yaml);
  // The photos were re-encoded in the browser: a JPEG with no EXIF (no GPS, no camera).
  const jpeg = fs.readFileSync(path.join(folder, 'products/bougie-etoile.jpg'));
  assert.equal(jpeg.readUInt16BE(0), 0xffd8);
  assert.equal(jpeg.includes(Buffer.from('Exif\0\0')), false, 'no EXIF segment');
  // The phone's portrait was turned upright before it left the browser (no EXIF to say so).
  // The camera-sized photo was downscaled to 2,400 pixels on its long side, re-encoded as JPEG.
  const big = fs.readFileSync(path.join(folder, 'products/sirop-de-liege.jpg'));
  assert.equal(big.readUInt16BE(0), 0xffd8);
  assert.deepEqual(jpegSize(big), { width: 2400, height: 800 });
  const cover = fs.readFileSync(path.join(folder, 'cover.jpg'));
  assert.deepEqual(jpegSize(cover), { width: 1200, height: 1600 });
  assert.equal(cover.includes(Buffer.from('Exif\0\0')), false);

  // The mistake, put back in the imported file: `chalet check` says what the form said.
  const md = path.join(folder, 'products/bougie-etoile.md');
  const good = fs.readFileSync(md, 'utf8');
  fs.writeFileSync(md, good.replace('price: "12,50"', 'price: "douze"'));
  const checked = run(['check', '--content', content, ...cache]);
  assert.equal(checked.code, 1, checked.out);
  assert.ok(checked.out.includes(problems[0]), `chalet check:\n${checked.out}\nthe form:\n${problems[0]}`);
  fs.writeFileSync(md, good);

  const out = path.join(work, 'dist');
  const built = run(['build', '--content', content, '--out', out, ...cache]);
  assert.equal(built.code, 0, built.out);
  assert.ok(fs.readFileSync(path.join(out, 'index.html'), 'utf8').includes('Chez Lina'), 'the chalet is on the square');
  const product = fs.readFileSync(path.join(out, 'chalets/chez-lina/bougie-etoile/index.html'), 'utf8');
  assert.ok(product.includes('12,50'), 'its product page, at its price');
  fs.rmSync(work, { recursive: true, force: true });
});

test('the form is accessible: labelled fields, problems announced, keyboard only', async () => {
  // axe is injected as an inline script, which the site's Content-Security-Policy forbids: this
  // context alone sets the policy aside (the walk above keeps it).
  const context = await browser.newContext({ viewport: PHONE, locale: 'fr-BE', bypassCSP: true });
  const p = await context.newPage();
  await p.goto(`${SITE}/exposer/`);
  await p.waitForSelector('#apply[data-ready="true"]', { timeout: 30_000 });
  // Keyboard only: from the chalet's name, Tab walks the fields in order.
  await p.focus('#f-name');
  await p.keyboard.type('Chez Lina');
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'f-artisan');
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.id), 'f-town');
  // Problems (everything else is empty) are announced in a live region and tied to their fields.
  await p.waitForSelector('#apply-problems code');
  assert.equal(await p.getAttribute('#apply-problems', 'aria-live'), 'polite');
  assert.equal(await p.getAttribute('#f-artisan', 'aria-invalid'), 'true');
  const violations = await axe(p);
  assert.deepEqual(violations, [], 'the form, with its problems shown, passes axe');
  await context.close();
});

test('sent online: the zip lands in the bucket, the fee is paid on Stripe, the organisers import it by id', async () => {
  assert.ok(CHECKOUT_FN && S3 && BUCKET, 'run through scripts/e2e (CHECKOUT_FN, S3, BUCKET)');
  const context = await browser.newContext({ viewport: PHONE, locale: 'fr-BE' });
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(`${SHOP}/exposer/`);
  await p.waitForSelector('#apply[data-ready="true"]', { timeout: 30_000 });
  await fillChalet(p);
  await p.waitForFunction(() => !document.getElementById('apply-send').disabled, null, { timeout: 10_000 });
  const [sent] = await Promise.all([
    p.waitForResponse((r) => r.url().endsWith('/applications') && r.request().method() === 'POST'),
    p.click('#apply-send'),
  ]);
  assert.equal(sent.status(), 200, 'the function records the application');
  const asked = JSON.parse(sent.request().postData());
  assert.deepEqual(Object.keys(asked).sort(), ['artisan', 'chalet_name', 'email', 'zip_sha256', 'zip_size']);
  assert.equal(asked.chalet_name, 'Chez Lina');

  // Stripe's page (the stand-in's): the registration fee as published, then back to the form.
  await p.waitForURL(/\/pay\/cs_/, { timeout: 20_000 });
  assert.match(await p.locator('body').innerText(), /100\.00 EUR/, 'the fee less the sponsors\' share');
  await p.getByLabel('Name').fill('Lina Rose');
  await p.screenshot({ path: path.join(SHOTS, 'apply-pay.png') });
  await p.getByRole('button', { name: 'Pay' }).click();
  await p.waitForURL(/\/exposer\/\?inscription=cs_/, { timeout: 20_000 }).catch(async (e) => {
    await p.screenshot({ path: path.join(SHOTS, 'apply-paid.png') });
    throw new Error(`${e.message}; at ${p.url()}`);
  });
  await p.waitForFunction(() => document.getElementById('apply-status').textContent.startsWith('Merci'));
  assert.deepEqual(errors, []);
  await context.close();

  // Paid (the stand-in's signed webhook), listed for the organisers with what the form sent.
  let paid = [];
  for (let i = 0; i < 40 && !paid.some((a) => a.zip_sha256 === asked.zip_sha256); i++) {
    const r = spawnSync(CHECKOUT_FN, ['applications', '--status', 'paid'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    paid = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    if (!paid.some((a) => a.zip_sha256 === asked.zip_sha256)) await new Promise((res) => setTimeout(res, 250));
  }
  const application = paid.find((a) => a.zip_sha256 === asked.zip_sha256);
  assert.ok(application, 'the application is paid');
  assert.equal(application.chalet_name, 'Chez Lina');
  const { id } = application;

  // The upload is in the bucket, byte for byte what the form announced.
  const stored = await fetch(`${S3}/${BUCKET}/applications/${id}.zip`, {
    headers: { authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=0' },
  });
  assert.equal(stored.status, 200);
  const bytes = Buffer.from(await stored.arrayBuffer());
  assert.equal(bytes.length, asked.zip_size);
  assert.equal(require('node:crypto').createHash('sha256').update(bytes).digest('hex'), asked.zip_sha256);

  // Imported by its id, then built onto the square.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chalet-apply-online-'));
  const content = path.join(work, 'content');
  fs.cpSync(path.join(REPO, 'content'), content, { recursive: true });
  const env = { ...process.env, CHALET_CHECKOUT_FN: CHECKOUT_FN };
  const imported = run(['import', id, '--content', content, '--themes', path.join(REPO, 'themes')], { env });
  assert.equal(imported.code, 0, imported.out);
  assert.match(imported.out, /imported chalet `chez-lina`/);
  const out = path.join(work, 'dist');
  const built = run(['build', '--content', content, '--out', out, '--cache', path.join(REPO, '.cache/chalet'),
    '--themes', path.join(REPO, 'themes')]);
  assert.equal(built.code, 0, built.out);
  assert.ok(fs.readFileSync(path.join(out, 'index.html'), 'utf8').includes('Chez Lina'), 'the chalet is on the square');
  fs.rmSync(work, { recursive: true, force: true });
});
