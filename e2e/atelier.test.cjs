// The artisans' page (/atelier/), in Debian's Chromium: a shopper pays an order with a candle
// (picked up) and soaps (shipped); each chalet's private link, as `checkout-fn links` prints it,
// opens that chalet's share and no other's; the candle maker says "ready for pickup", the soap
// maker "shipped" with a tracking link, and both stay said after a reload; a tampered link is
// refused. A restaurant honours vouchers with its link or with the staff PIN it sets there.
// Run by scripts/e2e (SITE, FUNCTION, CHECKOUT_FN, LINKS_KEY, TABLE_NAME…).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { launch, axe } = require('./common.cjs');

const { SITE, FUNCTION, CHECKOUT_FN, DIST } = process.env;
// The shopper's walk (shop.test.cjs) sells its candles out: this order takes products of
// other chalets, chosen from the built catalogue — one picked up, one shipped.
const TAKEN = ['la-cire-d-outremeuse', 'savonnerie-du-pont-d-avroy'];
function pick(catalogue, wanted, not) {
  const item = catalogue.items.find((i) => !TAKEN.includes(i.chalet) && i.chalet !== not && i.kind === 'goods'
    && !(i.personalisation && i.personalisation.required)
    && (i.stock.type === 'made_to_order' || i.stock.quantity >= 2) && wanted(i.fulfilment));
  assert.ok(item, 'the example market has such a product');
  return item;
}

let browser;
before(async () => {
  assert.ok(SITE && FUNCTION && CHECKOUT_FN && DIST, 'run through scripts/e2e');
  browser = await launch();
});
after(async () => { if (browser) await browser.close(); });

/** Each chalet's private page link, as the organisers' command prints it. */
function links() {
  const r = spawnSync(CHECKOUT_FN, ['links', '--catalogue', path.join(DIST, 'catalogue.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('\t')).map(([slug, page]) => [slug, page]));
}

/** An order paid as a shopper pays it: the basket as the site posts it, then Stripe's page
 *  (the stand-in's), its address asked when something is shipped. The shopper's page stays
 *  open on the order page, its script errors collected. */
async function paidOrder(basket, shipped) {
  const res = await fetch(`${FUNCTION}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: SITE },
    body: JSON.stringify({ ...basket, locale: 'fr' }),
  });
  const session = await res.json();
  assert.equal(res.status, 200, JSON.stringify(session));
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'fr-BE' });
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(session.url);
  await p.getByLabel('Name').fill('Anne Lambert');
  if (shipped) {
    await p.getByLabel('Phone').fill('+32 470 12 34 56');
    await p.getByLabel('Address').fill('Rue Hors-Château 12');
    await p.getByLabel('Postal code').fill('4000');
    await p.getByLabel('City').fill('Liège');
  }
  await p.getByRole('button', { name: 'Pay' }).click();
  await p.waitForURL(`${SITE}/order/?session_id=cs_*`);
  return { session, context, p, errors };
}

test('each artisan sees their share of a paid order and tells the shopper it is ready or shipped', async () => {
  const catalogue = JSON.parse(fs.readFileSync(path.join(DIST, 'catalogue.json'), 'utf8'));
  const PICKED = pick(catalogue, (f) => f.pickup);
  const SHIPPED = pick(catalogue, (f) => f.shipping, PICKED.chalet);
  // A paid order across two chalets, shipped to Rue Hors-Château.
  const { session, context, p, errors } = await paidOrder({
    items: [{ sku: PICKED.sku, quantity: 1 }, { sku: SHIPPED.sku, quantity: 2 }],
    fulfilment: { [PICKED.chalet]: 'pickup', [SHIPPED.chalet]: 'shipping' },
  }, true);
  const ref = session.id.slice(-8).toUpperCase();

  const pages = links();
  const candleLink = pages[PICKED.chalet];
  const soapLink = pages[SHIPPED.chalet];
  assert.match(candleLink, new RegExp(`/atelier/#chalet=${PICKED.chalet}&token=[0-9a-f]{64}$`));

  // The first maker: the order, its line, who picks it up; not the other chalet's address.
  const seen = [];
  p.on('request', (r) => seen.push(r.url()));
  await p.goto(candleLink);
  const order = p.locator(`[data-atelier-order="${session.id}"]`);
  await order.waitFor();
  const text = await order.innerText();
  assert.match(text, new RegExp(`Commande ${ref}`));
  assert.ok(text.includes(`1 × ${PICKED.name}`), text);
  assert.match(text, /Retrait par Anne Lambert, \+32 470 12 34 56/);
  assert.ok(!text.includes('Hors-Château') && !text.includes(SHIPPED.name), `nothing of the other chalet: ${text}`);
  assert.ok(!seen.some((u) => /token=/.test(u)), `the token never travels in an address: ${seen.join(' ')}`);
  await order.getByRole('button', { name: 'Prévenir le client : prête pour le retrait' }).click();
  await order.locator(`[data-atelier-handover="${session.id}"]`).filter({ hasText: 'Prête pour le retrait' }).waitFor();
  await p.reload();
  await p.locator(`[data-atelier-handover="${session.id}"]`).filter({ hasText: 'Prête pour le retrait' }).waitFor();

  // The second: the address to ship to, then "shipped" with a tracking link.
  await p.goto(soapLink);
  const parcel = p.locator(`[data-atelier-order="${session.id}"]`);
  await parcel.waitFor();
  const parcelText = await parcel.innerText();
  assert.match(parcelText, /À envoyer à .*Rue Hors-Château 12/);
  assert.ok(parcelText.includes(`2 × ${SHIPPED.name}`), parcelText);
  await parcel.getByLabel('Lien de suivi du colis (facultatif)').fill('https://track.example/colis/42');
  await parcel.getByRole('button', { name: 'Prévenir le client : envoyée' }).click();
  await parcel.locator(`[data-atelier-handover="${session.id}"]`).filter({ hasText: 'Envoyée' }).waitFor();
  await p.reload();
  const state = p.locator(`[data-atelier-handover="${session.id}"]`);
  await state.filter({ hasText: 'Envoyée' }).waitFor();
  assert.equal(await state.locator('a').getAttribute('href'), 'https://track.example/colis/42');

  // The spreadsheet, fetched with the same header.
  const [download] = await Promise.all([p.waitForEvent('download'), p.click('[data-atelier-csv]')]);
  assert.equal(download.suggestedFilename(), `${SHIPPED.chalet}-orders.csv`);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  assert.ok(csv.split('\r\n').some((row) => row.startsWith(`${session.id},`) && row.includes(`,${SHIPPED.sku},`)), csv);

  // A tampered link opens nothing.
  const tampered = soapLink.replace(/token=(.)/, (_, c) => `token=${c === '0' ? '1' : '0'}`);
  await p.goto('about:blank');
  await p.goto(tampered);
  await p.locator('[data-atelier-status]').filter({ hasText: 'n\'est pas (ou plus) valable' }).waitFor();
  assert.equal(await p.locator('[data-atelier-order]').count(), 0);

  // Accessible, with its orders shown.
  await p.goto(candleLink);
  await p.locator('[data-atelier-order]').first().waitFor();
  assert.deepEqual(await axe(p), []);
  assert.deepEqual(errors, []);
  await context.close();
});

/** A restaurant voucher of the example market, bought and paid: the order as the function
 *  answers it once paid, with the shopper's page still open on it. */
async function paidVoucher() {
  const catalogue = JSON.parse(fs.readFileSync(path.join(DIST, 'catalogue.json'), 'utf8'));
  const VOUCHER = catalogue.items.find((i) => i.kind === 'voucher' && !(i.personalisation && i.personalisation.required)
    && (i.stock.type === 'made_to_order' || i.stock.quantity >= 1));
  assert.ok(VOUCHER, 'the example market sells vouchers');
  const paid = await paidOrder({ items: [{ sku: VOUCHER.sku, quantity: 1 }], fulfilment: {} }, false);
  let order;
  for (let i = 0; i < 40 && !(order && order.status === 'paid'); i++) {
    order = await (await fetch(`${FUNCTION}/orders/${paid.session.id}`)).json();
    if (order.status !== 'paid') await new Promise((r) => setTimeout(r, 250));
  }
  return { ...paid, VOUCHER, order, code: order.chalets[0].lines[0].voucher_codes[0] };
}

test('a restaurant honours a voucher once, can undo a mistake, and refuses what is not its own', async () => {
  const { context, p, errors, VOUCHER, order, code } = await paidVoucher();
  assert.match(code, /^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/);
  // Valid until the date it was sold with, else a year from the purchase.
  const year = `${Number(order.created.slice(0, 4)) + 1}${order.created.slice(4, 10)}`;
  assert.equal(order.chalets[0].lines[0].valid_until, VOUCHER.voucher_valid_until || year);

  // The order page has the voucher to print: where, what, the code, until when.
  const card = p.locator(`[data-voucher-card="${code}"]`);
  await card.waitFor();
  const cardText = await card.innerText();
  assert.ok(cardText.includes(VOUCHER.chalet_name) && cardText.includes(VOUCHER.name) && cardText.includes(code), cardText);
  assert.match(cardText, /Émis le[\s\S]*Valable jusqu'au/);
  // Its QR code carries the payload the market signed for this code.
  const payload = await card.locator('svg.voucher-qr').getAttribute('data-voucher-payload');
  assert.ok(payload.startsWith(`CHV1.${code}.${VOUCHER.sku}.`), payload);
  // Printing the vouchers prints the cards alone.
  await p.evaluate(() => document.body.classList.add('print-vouchers'));
  await p.emulateMedia({ media: 'print' });
  assert.equal(await p.locator('header.sky').evaluate((e) => getComputedStyle(e).visibility), 'hidden');
  assert.equal(await card.evaluate((e) => getComputedStyle(e).visibility), 'visible');
  await p.emulateMedia({ media: 'screen' });

  // From the restaurant's page of orders to its staff's page, the link carried along.
  const pages = links();
  await p.goto(pages[VOUCHER.chalet]);
  await p.locator('[data-atelier-vouchers]:not([hidden])').click();
  await p.waitForURL(/\/atelier\/bons\/#chalet=/);
  const redeem = async (typed) => {
    await p.fill('#voucher-code', typed);
    await p.getByRole('button', { name: 'Honorer ce bon' }).click();
    return p.locator('[data-voucher-result] p').first();
  };
  // Typed as a waiter types it: lower case.
  let said = await redeem(code.toLowerCase());
  await said.filter({ hasText: 'Bon accepté' }).waitFor();
  assert.ok((await said.innerText()).includes(VOUCHER.name));
  // A mistake, undone; then honoured for good — from its QR code's payload, checked against
  // the market's key first — and refused the second time, with the date.
  await p.getByRole('button', { name: 'Annuler (erreur)' }).click();
  await p.locator('[data-voucher-result]').filter({ hasText: 'Annulé' }).waitFor();
  // A forged QR code (the validity stretched) is refused before anything is asked of the function.
  const forged = payload.replace(/\.(\d{4})-(\d\d)-(\d\d)\./, '.2099-$2-$3.');
  assert.notEqual(forged, payload);
  const asked = [];
  p.on('request', (r) => { if (r.url().includes('/redeem')) asked.push(r.url()); });
  said = await redeem(forged);
  await said.filter({ hasText: 'c\'est un faux' }).waitFor();
  assert.deepEqual(asked, [], 'a forged payload never reaches the function');
  // A device that never had the key, offline: it says it cannot check — never "forged".
  await p.evaluate(() => localStorage.clear());
  await p.route('**/vouchers/key', (route) => route.abort());
  said = await redeem(payload);
  await said.filter({ hasText: 'Impossible de vérifier ce code QR sans connexion' }).waitFor();
  await p.unroute('**/vouchers/key');
  assert.deepEqual(asked, [], 'nor does one that cannot be checked');
  said = await redeem(payload);
  await said.filter({ hasText: 'Bon accepté' }).waitFor();
  said = await redeem(code);
  await said.filter({ hasText: 'Ce bon a déjà été utilisé' }).waitFor();
  assert.match(await said.innerText(), /\(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
  said = await redeem('ABCD-EFGH-JKLM-NPQR');
  await said.filter({ hasText: 'Aucun bon n\'a ce code' }).waitFor();
  // Another chalet's staff cannot honour it.
  const other = Object.entries(pages).find(([slug]) => slug !== VOUCHER.chalet)[1];
  await p.goto('about:blank');
  await p.goto(other.replace('/atelier/#', '/atelier/bons/#'));
  said = await redeem(code);
  await said.filter({ hasText: 'pas un bon de votre chalet' }).waitFor();
  // No camera reader in this browser: no scan button, typing works all the same.
  assert.equal(await p.isHidden('[data-voucher-scan]'), await p.evaluate(() => !('BarcodeDetector' in window)));
  assert.deepEqual(await axe(p), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a restaurant sets a staff PIN from its link, and its waiters honour vouchers with it alone', async () => {
  const { context, p, errors, VOUCHER, code } = await paidVoucher();
  const owner = links()[VOUCHER.chalet].replace('/atelier/#', '/atelier/bons/#');
  await p.goto('about:blank');
  await p.goto(owner);
  const admin = p.locator('[data-pin-admin]:not([hidden])');
  await admin.locator('[data-pin-state]').filter({ hasText: 'Aucun code du personnel' }).waitFor();
  // A PIN anyone would try first is refused; a good one is set.
  await p.fill('#new-pin', '123456');
  await p.getByRole('button', { name: 'Définir le code' }).click();
  await admin.locator('[data-pin-refused="invalid_pin"]').waitFor();
  await p.fill('#new-pin', '402917');
  await p.getByRole('button', { name: 'Définir le code' }).click();
  await admin.locator('[data-pin-state]').filter({ hasText: 'Un code du personnel est défini' }).waitFor();
  assert.deepEqual(await axe(p), []);
  // The staff's address: this page with the chalet, never the token.
  const staff = await p.inputValue('[data-pin-link]');
  assert.ok(staff.endsWith(`/atelier/bons/#chalet=${VOUCHER.chalet}`), staff);

  await p.goto('about:blank');
  await p.goto(staff);
  assert.ok(await p.isHidden('[data-atelier-back]'), 'the staff have no way to the orders');
  assert.ok(await p.isHidden('[data-pin-admin]'), 'nor to the PIN');
  const redeem = async (pin) => {
    await p.fill('#staff-pin', pin);
    await p.fill('#voucher-code', code);
    await p.getByRole('button', { name: 'Honorer ce bon' }).click();
    return p.locator('[data-voucher-result] p').first();
  };
  let said = await redeem('999999');
  await said.filter({ hasText: 'Code erroné (4 essais' }).waitFor();
  assert.equal(await p.inputValue('#staff-pin'), '', 'a wrong PIN is cleared for the next try');
  said = await redeem('402917');
  await said.filter({ hasText: 'Bon accepté' }).waitFor();
  assert.deepEqual(await axe(p), []);
  assert.deepEqual(errors, []);
  await context.close();
});
