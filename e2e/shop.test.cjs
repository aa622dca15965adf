// A shopper's walk through the built example market, in Debian's Chromium: the square, two
// chalets, the basket, the checkout function, the Stripe stand-in's payment page, and the order
// page. Run by scripts/e2e, which builds the site with --checkout-url, starts the function and
// the stand-in on loopback and sets SITE, FUNCTION and SHOTS.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { launch, axe } = require('./common.cjs');

const SITE = process.env.SITE;
const FUNCTION = process.env.FUNCTION;
const SHOTS = process.env.SHOTS || 'target/e2e/screenshots';
const DIST = process.env.DIST;
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

// The example market's products this walk buys; prices, stock and delivery terms are read from
// the built catalogue, so the expected totals are computed, not copied.
const CANDLE = 'la-cire-d-outremeuse/bougie-pain-d-epices';
const SOAP = 'savonnerie-du-pont-d-avroy/savon-au-lait-d-anesse';

let browser;
let catalogue;
before(async () => {
  assert.ok(SITE && FUNCTION && DIST, 'run through scripts/e2e (SITE, FUNCTION, DIST)');
  catalogue = JSON.parse(fs.readFileSync(path.join(DIST, 'catalogue.json'), 'utf8'));
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
});
after(async () => { if (browser) await browser.close(); });

const item = (sku) => {
  const i = catalogue.items.find((x) => x.sku === sku);
  assert.ok(i, `${sku} is in the catalogue`);
  return i;
};

/** French formatting, written out independently of the theme: 1234.5 € → "1 234,50 €". */
function euros(cents) {
  const e = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  return `${e},${String(cents % 100).padStart(2, '0')}\u00a0€`;
}

async function page(viewport) {
  const context = await browser.newContext({ viewport, locale: 'fr-BE' });
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  // Failed requests are recorded with their address (Chromium's console only says "404").
  p.on('response', (r) => { if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) errors.push(`${r.status()} ${r.url()}`); });
  p.errors = errors;
  return p;
}

/** axe-core's WCAG 2.x A/AA rules on the page as it is now (after the script filled it in). */
async function shoot(p, name) {
  for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await p.setViewportSize(viewport);
    await p.screenshot({ path: path.join(SHOTS, `${name}-${label}.png`), fullPage: label === 'desktop' });
  }
}

async function addFromChalet(p, sku, quantity) {
  const it = item(sku);
  // The square → the chalet front → its shelf → the product, with the keyboard where it matters.
  await p.getByRole('link', { name: it.chalet_name, exact: false }).first().click();
  await p.waitForURL(`**/chalets/${it.chalet}/`);
  assert.equal(await p.locator('h1').innerText(), it.chalet_name);
  await p.locator(`.shelf a[href$="/${sku}/"]`).click();
  await p.waitForURL(`**/chalets/${sku}/`);
  assert.equal(await p.locator('h1').innerText(), it.name);
  const qty = p.getByLabel('Quantité');
  await qty.fill(String(quantity));
  await qty.press('Enter'); // submits the form: keyboard-only shopping
  await p.locator('[data-added]').filter({ hasText: `Ajouté au panier (${quantity})` }).waitFor();
}

test('a shopper walks the square, fills one basket from two chalets and pays', async () => {
  const candle = item(CANDLE);
  const soap = item(SOAP);
  assert.equal(candle.stock.type, 'limited');
  const candleStock = candle.stock.quantity;
  assert.ok(candleStock >= 2, 'the candle can be bought twice');

  const p = await page(DESKTOP);
  await p.goto(SITE + '/');
  assert.equal(await p.locator('html').getAttribute('lang'), 'fr');
  const chalets = new Set(catalogue.items.map((i) => i.chalet));
  assert.equal(await p.locator('.village .hut').count(), chalets.size, 'one chalet front per chalet');
  await shoot(p, 'square');

  await addFromChalet(p, CANDLE, 1);
  assert.equal(await p.locator('[data-basket-count]').innerText(), '1');
  await p.locator('a.brand').click();
  await addFromChalet(p, SOAP, 2);
  assert.equal(await p.locator('[data-basket-count]').innerText(), '3');
  await shoot(p, 'chalet-product');

  await p.getByRole('link', { name: /Panier/ }).click();
  await p.waitForURL('**/basket/');
  const groups = p.locator('.group');
  await groups.first().waitFor();
  assert.equal(await groups.count(), 2, 'grouped by chalet');
  assert.deepEqual(await p.locator('.group h2').allInnerTexts(), [candle.chalet_name, soap.chalet_name]);

  // Change a quantity: the candle from 1 to its whole stock, then try more than there is.
  const candleQty = p.getByLabel(`Quantité de ${candle.name}`);
  await candleQty.fill(String(candleStock));
  await candleQty.press('Tab');
  await p.locator(`[data-line="${CANDLE}"] .amount`).filter({ hasText: euros(candle.price * candleStock) }).waitFor();
  assert.equal(await p.getByLabel(`Quantité de ${candle.name}`).getAttribute('max'), String(candleStock));

  // Pickup for the candles (the default), shipping for the soap: the fee is added below the
  // free-delivery threshold. Radios are found by value, whatever the language.
  const soapSubtotal = soap.price * 2;
  const fee = soap.fulfilment.shipping.free_from != null && soapSubtotal >= soap.fulfilment.shipping.free_from ? 0 : soap.fulfilment.shipping.price;
  assert.ok(fee > 0, 'the soap alone stays under the free-delivery threshold');
  const total = candle.price * candleStock + soapSubtotal + fee;
  assert.equal(await p.locator('[data-basket-total]').innerText(), euros(total - fee), 'pickup everywhere first');
  await p.locator(`input[name="f-${soap.chalet}"][value="shipping"]`).check();
  assert.equal(await p.locator('[data-basket-total]').innerText(), euros(total));
  await p.locator(`input[name="f-${soap.chalet}"][value="pickup"]`).check();
  assert.equal(await p.locator('[data-basket-total]').innerText(), euros(total - fee));
  await p.locator(`input[name="f-${soap.chalet}"][value="shipping"]`).check();
  assert.equal(await p.locator(`[data-group-total="${soap.chalet}"]`).innerText(), euros(soapSubtotal + fee));
  await shoot(p, 'basket');
  assert.deepEqual(await axe(p), [], 'the filled basket passes axe');

  // A second shopper has the same candle in their basket, page open, before the first pays.
  const rival = await page(DESKTOP);
  await rival.context().addInitScript((sku) => {
    if (!localStorage.getItem('chalet-basket:/')) localStorage.setItem('chalet-basket:/', JSON.stringify({ items: [{ sku, quantity: 1 }], fulfilment: {} }));
  }, CANDLE);
  await rival.goto(SITE + '/basket/');
  await rival.locator('.group').waitFor();

  // Pay: the exact JSON the function receives, then the stand-in's hosted page.
  const posted = p.waitForRequest((r) => r.url() === `${FUNCTION}/checkout` && r.method() === 'POST');
  await p.locator('[data-pay]').click();
  const request = await posted;
  assert.deepEqual(request.postDataJSON(), {
    items: [{ sku: CANDLE, quantity: candleStock }, { sku: SOAP, quantity: 2 }],
    fulfilment: { [candle.chalet]: 'pickup', [soap.chalet]: 'shipping' },
    locale: 'fr',
  });
  assert.equal(request.headers()['content-type'], 'application/json');
  await p.waitForURL(/\/pay\/cs_/);
  const amount = (total / 100).toFixed(2);
  assert.match(await p.locator('body').innerText(), new RegExp(`${amount.replace('.', '\\.')} EUR`), 'Stripe is asked for the same total');

  // The rival now pays for a candle that is reserved: the function says how many remain.
  await rival.locator('[data-pay]').click();
  const message = rival.locator('[data-basket-message]');
  await message.filter({ hasText: candle.name }).waitFor();
  assert.match(await message.innerText(), new RegExp(`reste que 0 × « ${candle.name} »`));
  assert.match(await message.innerText(), /sont dans le panier d’autres visiteurs : ils reviennent vers \d\d:\d\d/, 'held, not sold: they may come back');
  assert.equal(await rival.locator('.group').count(), 0, 'the sold-out candle left the rival basket');

  // The payment page asks what the order needs: a phone (the candles are picked up) and an
  // address (the soap is shipped), in the market's countries.
  await p.getByLabel('Name').fill('Anne Lambert');
  await p.getByLabel('Phone').fill('+32 470 12 34 56');
  await p.getByLabel('Address').fill('Rue Hors-Château 12');
  await p.getByLabel('Postal code').fill('4000');
  await p.getByLabel('City').fill('Liège');
  assert.deepEqual(await p.locator('#country option').allInnerTexts(), ['BE', 'NL', 'LU', 'FR', 'DE']);
  await p.getByRole('button', { name: 'Pay' }).click();
  await p.waitForURL(`${SITE}/order/?session_id=cs_*`);
  const orderTotal = p.locator('[data-order-total]');
  await orderTotal.waitFor({ timeout: 20000 });
  assert.equal(await orderTotal.innerText(), euros(total));
  const detail = await p.locator('[data-order-detail]').innerText();
  assert.ok(detail.includes(candle.name) && detail.includes(soap.name), detail);
  assert.match(await p.locator(`[data-ship-to="${soap.chalet}"]`).innerText(),
    /^Livré à\s?:\s?Anne Lambert, Rue Hors-Château 12, 4000 Liège, BE$/, 'the address typed at Stripe, on the shipping chalet');
  assert.equal(await p.locator(`[data-ship-to="${candle.chalet}"]`).count(), 0, 'none on the pickup chalet');
  assert.equal(await p.locator('[data-basket-count]').innerText(), '', 'the paid basket is emptied');
  await shoot(p, 'order');
  assert.deepEqual(await axe(p), [], 'the order page passes axe');

  assert.deepEqual(p.errors, [], 'no script errors, no failed request');
  assert.deepEqual(rival.errors, [`409 ${FUNCTION}/checkout`], 'the rival saw only the refusal');
});

test('coming back from the payment page without paying gives the stock back at once', async () => {
  const it = catalogue.items.find((i) => i.stock.type === 'limited' && ![CANDLE, SOAP].includes(i.sku) && i.kind !== 'voucher' && i.fulfilment.pickup);
  assert.ok(it, 'a limited product nobody else buys');
  const remaining = async () => (await (await fetch(`${FUNCTION}/availability?chalet=${it.chalet}`)).json()).remaining[it.sku];
  assert.equal(await remaining(), it.stock.quantity);
  const p = await page(DESKTOP);
  await p.goto(SITE + '/');
  await addFromChalet(p, it.sku, 1);
  await p.getByRole('link', { name: /Panier/ }).click();
  await p.waitForURL('**/basket/');
  await p.locator('.group').waitFor();
  await p.locator('[data-pay]').click();
  await p.waitForURL(/\/pay\/cs_/);
  assert.equal(await remaining(), it.stock.quantity - 1, 'held while the shopper is on the payment page');
  const cancelled = p.waitForResponse((r) => /\/checkout\/[0-9a-f]{32}\/cancel$/.test(r.url()));
  await p.getByRole('link', { name: 'Cancel' }).click();
  await p.waitForURL(/\/basket\/\?cancelled=[0-9a-f]{32}$/);
  const answer = await cancelled;
  assert.equal(answer.status(), 200);
  assert.equal((await answer.json()).status, 'released');
  assert.equal(await remaining(), it.stock.quantity, 'back at once, not when the session expires');
  assert.match(await p.locator('[data-basket-message]').innerText(), /Paiement annulé/);
  assert.equal(await p.locator('.group').count(), 1, 'the basket is as the shopper left it');
  assert.deepEqual(p.errors, []);
});

test('a personalised ring: asked on the product page and in the basket, kept on the order', async () => {
  const ring = catalogue.items.find((i) => i.personalisation && i.personalisation.required && i.kind === 'goods' && i.fulfilment.pickup);
  assert.ok(ring, 'the example market has a product asking a question');
  const q = ring.personalisation;
  const p = await page(DESKTOP);
  await p.goto(SITE + '/');
  await p.getByRole('link', { name: ring.chalet_name, exact: false }).first().click();
  await p.locator(`.shelf a[href$="/${ring.sku}/"]`).click();
  await p.waitForURL(`**/chalets/${ring.sku}/`);
  // Required: the browser keeps the form from being sent without it.
  const field = p.getByLabel(q.label);
  assert.equal(await field.getAttribute('maxlength'), String(q.max_length));
  await p.locator('form[data-add] button').click();
  assert.equal(await p.locator('[data-added]').innerText(), '', 'nothing added without a size');
  await field.fill('54');
  await p.locator('form[data-add] button').click();
  await p.locator('[data-added]').filter({ hasText: '(1)' }).waitFor();
  await shoot(p, 'product-personalised');

  await p.getByRole('link', { name: /Panier/ }).click();
  await p.waitForURL('**/basket/');
  const line = p.locator(`[data-personalisation="${ring.sku}"]`);
  await line.waitFor();
  assert.equal(await line.inputValue(), '54', 'the size came along');
  assert.equal(await p.locator(`[data-no-withdrawal="personalised"]`).count(), 1, 'made to measure: no right of withdrawal, said on the line');
  // Emptied in the basket: said before any request, and the field gets the focus.
  await line.fill('');
  await line.press('Tab');
  let requests = 0;
  p.on('request', (r) => { if (r.url() === `${FUNCTION}/checkout`) requests += 1; });
  await p.locator('[data-pay]').click();
  await p.locator('[data-basket-message]').filter({ hasText: q.label }).waitFor();
  assert.equal(requests, 0, 'no request for a basket that lacks an answer');
  assert.equal(await p.evaluate(() => document.activeElement.dataset.personalisation), ring.sku);
  await p.locator(`[data-personalisation="${ring.sku}"]`).fill('56');
  await p.locator(`[data-personalisation="${ring.sku}"]`).press('Tab');
  await p.locator(`[data-gift-note="${ring.chalet}"]`).fill('Pour Marie');
  await p.locator(`[data-gift-note="${ring.chalet}"]`).press('Tab');
  assert.deepEqual(await axe(p), [], 'the basket with a question passes axe');
  const posted = p.waitForRequest((r) => r.url() === `${FUNCTION}/checkout` && r.method() === 'POST');
  await p.locator('[data-pay]').click();
  const body = (await posted).postDataJSON();
  assert.deepEqual(body.items, [{ sku: ring.sku, quantity: 1, personalisation: '56' }]);
  assert.deepEqual(body.gift_notes, { [ring.chalet]: 'Pour Marie' });
  await p.waitForURL(/\/pay\/cs_/);
  await p.getByLabel('Name').fill('Marie Dupont');
  await p.getByLabel('Phone').fill('+32 470 00 11 22');
  await p.getByRole('button', { name: 'Pay' }).click();
  await p.waitForURL(`${SITE}/order/?session_id=cs_*`);
  const shown = p.locator(`[data-order-personalisation="${ring.sku}"]`);
  await shown.waitFor({ timeout: 20000 });
  assert.equal(await shown.innerText(), '56');
  assert.match(await p.locator('[data-order-detail]').innerText(), /Pour Marie/);
  assert.deepEqual(p.errors, []);
});

test('search is instant and accent-insensitive', async () => {
  const p = await page(PHONE);
  await p.goto(SITE + '/');
  const box = p.getByRole('searchbox');
  await box.fill('epices');
  const hit = p.locator('#hits a', { hasText: 'épices' }).first();
  await hit.waitFor();
  await box.press('ArrowDown');
  await p.keyboard.press('Enter');
  await p.waitForURL(/\/chalets\//);
  assert.match(await p.locator('h1').innerText(), /épices/i);
  // The results page, reached by submitting the form: "pate" finds "Kit pâte à gaufres".
  await box.fill('pate');
  await box.press('Enter');
  await p.waitForURL(/\/search\/\?q=pate/);
  const results = p.locator('[data-search-results] a');
  await results.first().waitFor();
  assert.ok((await results.allInnerTexts()).some((t) => /pâte/i.test(t)), 'accents folded');
  assert.match(await p.locator('[data-search-status]').innerText(), /résultat/);
  await box.fill('zzzz');
  await box.press('Enter');
  await p.waitForURL(/q=zzzz/);
  await p.locator('[data-search-status]', { hasText: 'Aucun résultat' }).waitFor();
  assert.equal(await results.count(), 0);
  assert.deepEqual(p.errors, []);
});

test('the market reads without JavaScript and the basket says it needs it', async () => {
  const context = await browser.newContext({ viewport: PHONE, javaScriptEnabled: false });
  const p = await context.newPage();
  await p.goto(SITE + '/');
  await p.locator('.village .hut a').first().click();
  await p.waitForURL(/\/chalets\//);
  await p.locator('.shelf a').first().click();
  assert.ok(await p.locator('.buy h1').isVisible());
  await p.goto(SITE + '/basket/');
  assert.match(await p.locator('main').innerText(), /JavaScript/);
  await context.close();
});

test('under reduced motion nothing moves', async () => {
  const context = await browser.newContext({ viewport: PHONE, reducedMotion: 'reduce' });
  const p = await context.newPage();
  await p.goto(SITE + '/');
  const running = await p.evaluate(() => document.getAnimations().length);
  assert.equal(running, 0, 'snow and lights stop');
  await p.emulateMedia({ reducedMotion: 'no-preference' });
  assert.ok(await p.evaluate(() => document.getAnimations().length) > 0, 'and run otherwise');
  await context.close();
});

/** Presses Tab until `matches(document.activeElement)` holds; fails after `max` presses. */
async function tabTo(p, matches, arg, max = 120) {
  for (let i = 0; i < max; i++) {
    await p.keyboard.press('Tab');
    if (await p.evaluate(matches, arg)) {
      const outline = await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
      assert.notEqual(outline, 'none', 'the focus is visible');
      return;
    }
  }
  assert.fail(`no focusable element matched after ${max} Tab presses`);
}

test('keyboard only: from the square to the payment page', async () => {
  const fondants = item('la-cire-d-outremeuse/fondants-cannelle');
  assert.equal(fondants.stock.type, 'made_to_order', 'never sold out, whatever ran before');
  const p = await page(DESKTOP);
  await p.goto(SITE + '/');
  await tabTo(p, (c) => document.activeElement.matches(`.hut a[href$="/chalets/${c}/"]`), fondants.chalet);
  await p.keyboard.press('Enter');
  await p.waitForURL(`**/chalets/${fondants.chalet}/`);
  await tabTo(p, (s) => document.activeElement.matches(`.shelf a[href$="/${s}/"]`), fondants.sku);
  await p.keyboard.press('Enter');
  await p.waitForURL(`**/chalets/${fondants.sku}/`);
  await tabTo(p, () => document.activeElement.id === 'qty');
  await p.keyboard.press('Control+A');
  await p.keyboard.type('3');
  await tabTo(p, () => document.activeElement.matches('form[data-add] button'));
  await p.keyboard.press('Enter');
  await p.locator('[data-added]').filter({ hasText: '(3)' }).waitFor();
  await tabTo(p, () => document.activeElement.matches('a.basket-link'));
  await p.keyboard.press('Enter');
  await p.waitForURL('**/basket/');
  await p.locator('.group').waitFor();
  // Tab reaches the radio group at its checked choice; the arrows change it.
  await tabTo(p, () => document.activeElement.matches('input[type=radio][value=pickup]'));
  await p.keyboard.press('ArrowDown');
  assert.ok(await p.locator('input[type=radio][value=shipping]').isChecked());
  assert.equal(await p.evaluate(() => document.activeElement.value), 'shipping', 'the focus stays on the choice');
  await tabTo(p, () => document.activeElement.matches('[data-pay]'));
  const posted = p.waitForRequest((r) => r.url() === `${FUNCTION}/checkout`);
  await p.keyboard.press('Enter');
  assert.deepEqual((await posted).postDataJSON(), {
    items: [{ sku: fondants.sku, quantity: 3 }],
    fulfilment: { [fondants.chalet]: 'shipping' },
    locale: 'fr',
  });
  await p.waitForURL(/\/pay\/cs_/);
  assert.deepEqual(p.errors, []);
});
