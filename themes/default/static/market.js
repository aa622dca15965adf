// market.js — the basket, search and live stock of the default theme. No framework, no inline
// handlers (the pages run under `script-src 'self'`). Every page reads without it; the basket,
// the order page and instant search need it and say so in <noscript>.
(() => {
  'use strict';
  const cfgEl = document.getElementById('chalet-config');
  if (!cfgEl) return; // a template without the configuration block: the page stays as built
  const cfg = JSON.parse(cfgEl.textContent);
  const T = cfg.t || {};
  const tr = (key, vars) => (T[key] || key).replace(/\{(\w+)\}/g, (_, v) => (vars && v in vars ? vars[v] : ''));
  const $ = (sel, el = document) => el.querySelector(sel);
  const $$ = (sel, el = document) => Array.from(el.querySelectorAll(sel));
  // The bounds the generator and the checkout function use, passed in the configuration.
  const LOW_STOCK = cfg.low_stock;
  const MAX_QUANTITY = cfg.max_quantity;

  /** `h('a', {href: '/'}, 'text', child)`: an element; attributes starting with `on` are listeners. */
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    e.append(...kids.filter((k) => k != null && k !== false));
    return e;
  }

  /** Money as `chalet_types::Money::format` writes it: the language's separators and symbol
   *  position come from the generated configuration, so the rules live in one place. */
  function money(cents) {
    const m = cfg.money;
    const sign = cents < 0 ? '-' : '';
    const abs = Math.abs(cents);
    const euros = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, m.group);
    const n = euros + m.decimal + String(abs % 100).padStart(2, '0');
    if (m.symbol_at === 'before') return sign + m.symbol + n;
    if (m.symbol_at === 'before_spaced') return m.symbol + '\u00a0' + sign + n;
    return sign + n + '\u00a0' + m.symbol;
  }

  const fold = (s) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/œ/g, 'oe').replace(/æ/g, 'ae').toLowerCase();
  // Site addresses, error codes and stock states come from the generator (routes, ErrorCode,
  // Availability in chalet-types): nothing here spells them.
  const R = cfg.routes;
  const E = cfg.errors;
  const A = cfg.availability;
  const fill = (template, vars) => template.replace(/\{(\w+)\}/g, (_, v) => encodeURIComponent(vars[v]));
  const chaletUrl = (slug) => fill(R.chalet, { chalet: slug });
  const productUrl = (sku) => { const [chalet, product] = sku.split('/'); return fill(R.product, { chalet, product }); };

  // ------------------------------------------------------------------ the basket, in localStorage
  const KEY = 'chalet-basket:' + cfg.root;

  function load() {
    try {
      const b = JSON.parse(localStorage.getItem(KEY));
      if (b && Array.isArray(b.items)) {
        b.items = b.items.filter((i) => typeof i.sku === 'string' && Number.isInteger(i.quantity) && i.quantity > 0
          && (i.personalisation === undefined || typeof i.personalisation === 'string'));
        b.fulfilment = b.fulfilment && typeof b.fulfilment === 'object' ? b.fulfilment : {};
        b.giftNotes = b.giftNotes && typeof b.giftNotes === 'object' ? b.giftNotes : {};
        return b;
      }
    } catch (e) { /* private mode or a damaged value: start again */ }
    return { items: [], fulfilment: {}, giftNotes: {} };
  }

  function save(b) {
    try { localStorage.setItem(KEY, JSON.stringify(b)); } catch (e) { /* full or forbidden: the page still works */ }
    showCount(b);
  }

  // A line is a product and, for a personalised one, its text: two ring sizes are two lines.
  const textOf = (i) => (i.personalisation || '').trim();
  const sameLine = (a, b) => a.sku === b.sku && textOf(a) === textOf(b);

  function addToBasket(b, sku, quantity, max, personalisation) {
    const added = { sku, personalisation: (personalisation || '').trim() || undefined };
    const line = b.items.find((i) => sameLine(i, added));
    const limit = Math.min(max || MAX_QUANTITY, MAX_QUANTITY);
    if (line) line.quantity = Math.min(line.quantity + quantity, limit);
    else b.items.push({ ...added, quantity: Math.min(quantity, limit) });
    save(b);
  }

  function showCount(b) {
    const n = b.items.reduce((s, i) => s + i.quantity, 0);
    for (const el of $$('[data-basket-count]')) {
      el.textContent = n ? String(n) : '';
      el.parentElement.setAttribute('aria-label', n ? `${el.parentElement.firstChild.textContent.trim()} — ${n} ${tr('basket_count')}` : el.parentElement.firstChild.textContent.trim());
    }
  }

  async function getJson(url, init) {
    const res = await fetch(url, init);
    let body = null;
    try { body = await res.json(); } catch (e) { /* not JSON: treated as an error below */ }
    return { ok: res.ok, status: res.status, body };
  }

  /** Remaining stock per SKU of one chalet from the checkout function (`null`: made to order). */
  async function availability(chalet) {
    if (!cfg.checkout) return null;
    try {
      // Live stock is a refinement: never wait long for it.
      const r = await getJson(`${cfg.checkout}${R.api.availability}?chalet=${encodeURIComponent(chalet)}`, { signal: AbortSignal.timeout(4000) });
      return r.ok && r.body && r.body.remaining ? r.body.remaining : null;
    } catch (e) { return null; }
  }

  // ------------------------------------------------------------------ product and chalet pages
  function initAddForms(b) {
    for (const form of $$('form[data-add]')) {
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const qty = form.elements.qty;
        const max = Number(qty.max) || MAX_QUANTITY;
        const n = Math.max(1, Math.min(max, Math.floor(Number(qty.value)) || 1));
        qty.value = n;
        const text = form.elements.personalisation ? form.elements.personalisation.value : '';
        addToBasket(b, form.elements.add.value, n, max, text);
        $('[data-added]', form).textContent = `${tr('added')} (${n})`;
      });
    }
  }

  function showStock(el, remaining) {
    el.classList.remove(...Object.values(A));
    if (remaining === null) return;
    const state = remaining <= 0 ? A.sold_out : remaining <= LOW_STOCK ? A.low : A.in_stock;
    el.classList.add(state);
    el.textContent = state === A.sold_out ? tr('sold_out') : state === A.low ? tr('only_left', { n: remaining }) : tr('in_stock');
  }

  async function initLiveStock() {
    const holder = $('[data-chalet]');
    if (!holder || !$('[data-stock]')) return;
    const remaining = await availability(holder.dataset.chalet);
    if (!remaining) return;
    for (const el of $$('[data-stock]')) {
      const n = remaining[el.dataset.stock];
      if (n === undefined) continue;
      showStock(el, n);
      const form = el.closest('.buy') && $('form[data-add]');
      if (form && n !== null) {
        form.elements.qty.max = Math.max(1, Math.min(n, MAX_QUANTITY));
        form.elements.qty.disabled = n <= 0;
        $('button', form).disabled = n <= 0;
      }
    }
  }

  // ------------------------------------------------------------------ the basket page
  function fulfilmentOptions(items) {
    const f = items[0].item.fulfilment;
    return { pickup: !!f.pickup, shipping: f.shipping || null, vouchersOnly: items.every((l) => l.item.kind === 'voucher') };
  }

  function groupLines(b, catalogue) {
    const groups = new Map();
    for (const line of b.items) {
      const item = catalogue.get(line.sku);
      if (!item) continue;
      if (!groups.has(item.chalet)) groups.set(item.chalet, { chalet: item.chalet, name: item.chalet_name, lines: [] });
      groups.get(item.chalet).lines.push({ ...line, item });
    }
    for (const g of groups.values()) {
      const o = fulfilmentOptions(g.lines);
      g.options = o;
      g.subtotal = g.lines.reduce((s, l) => s + l.item.price * l.quantity, 0);
      let choice = b.fulfilment[g.chalet];
      if (choice === 'pickup' && !o.pickup) choice = null;
      if (choice === 'shipping' && !o.shipping) choice = null;
      g.choice = o.vouchersOnly ? null : choice || (o.pickup ? 'pickup' : 'shipping');
      const free = o.shipping && o.shipping.free_from != null && g.subtotal >= o.shipping.free_from;
      g.shippingFee = o.shipping ? (free ? 0 : o.shipping.price) : 0;
      g.fee = g.choice === 'shipping' ? g.shippingFee : 0;
    }
    return [...groups.values()];
  }

  function maxFor(item, live) {
    const left = live && item.sku in live ? live[item.sku] : item.stock.type === 'limited' ? item.stock.quantity : null;
    return left === null ? MAX_QUANTITY : Math.min(left, MAX_QUANTITY);
  }

  async function initBasket(b) {
    const root = $('[data-basket]');
    if (!root) return;
    const msg = $('[data-basket-message]', root);
    const say = (text) => { msg.hidden = !text; msg.textContent = text || ''; };
    const params = new URLSearchParams(location.search);
    if (params.has(cfg.params.cancelled)) {
      say(tr('cancelled'));
      // Back from Stripe without paying: give the reserved stock back now, not in 30 minutes.
      const reservation = params.get(cfg.params.cancelled);
      if (cfg.checkout && /^[0-9a-f]{32}$/.test(reservation)) {
        getJson(cfg.checkout + fill(R.api.cancel, { reservation }), { method: 'POST' }).catch(() => { /* expires anyway */ });
        forgetReservation(reservation);
      }
    }
    const loading = $('[data-basket-loading]', root);
    loading.hidden = false;
    let catalogue;
    try {
      const r = await getJson(root.dataset.catalogue);
      catalogue = new Map((r.body && r.body.items || []).map((i) => [i.sku, i]));
    } catch (e) {
      loading.hidden = true;
      return say(tr('error_network'));
    }
    loading.hidden = true;
    // A product form submitted without JavaScript lands here as ?add=SKU&qty=N.
    if (params.has('add') && catalogue.has(params.get('add'))) {
      addToBasket(b, params.get('add'), Math.max(1, Math.floor(Number(params.get('qty'))) || 1), MAX_QUANTITY, params.get('personalisation'));
      history.replaceState(null, '', location.pathname);
    }
    const live = {};
    const render = () => renderBasket(root, b, catalogue, live, say, render);
    // What the catalogue says first, at once; then what the checkout function says is left.
    const clamp = () => {
      const notes = [];
      b.items = b.items.filter((line) => {
        const item = catalogue.get(line.sku);
        if (!item) { notes.push(tr('unavailable', { name: line.sku })); return false; }
        const max = maxFor(item, live);
        if (max <= 0) { notes.push(tr('sold_out_now', { name: item.name })); return false; }
        line.quantity = Math.min(line.quantity, max);
        return true;
      });
      save(b);
      if (notes.length) say(notes.join(' '));
      render();
    };
    clamp();
    const chalets = [...new Set(b.items.map((i) => catalogue.get(i.sku).chalet))];
    const found = await Promise.all(chalets.map(availability));
    if (found.some(Boolean)) {
      for (const f of found) Object.assign(live, f || {});
      clamp();
    }
  }

  function renderBasket(root, b, catalogue, live, say, render) {
    const linesEl = $('[data-basket-lines]', root);
    const checkout = $('[data-basket-checkout]', root);
    const focused = document.activeElement && document.activeElement.id;
    const groups = groupLines(b, catalogue);
    linesEl.replaceChildren();
    checkout.hidden = groups.length === 0;
    if (!groups.length) {
      linesEl.append(h('p', { class: 'empty' }, tr('empty')));
      return;
    }
    for (const g of groups) {
      const list = h('ul', { class: 'lines' });
      g.lines.forEach((l, n) => {
        const id = 'q-' + l.sku.replace(/[^a-z0-9-]/g, '_') + (n ? '-' + n : '');
        const max = maxFor(l.item, live);
        const stored = () => b.items.find((i) => sameLine(i, l));
        const q = l.item.personalisation;
        // A personalised product asks its question on the line, where a missing answer is seen.
        const perso = q ? h('label', { class: 'perso', for: 'p-' + id }, q.label, q.required ? null : h('small', {}, ` (${tr('optional')})`),
          h('input', { id: 'p-' + id, type: 'text', value: l.personalisation || '', maxlength: q.max_length, required: q.required, 'data-personalisation': l.sku, autocomplete: 'off', onchange: (ev) => {
            const line = stored();
            const text = ev.target.value.trim();
            const twin = b.items.find((i) => i !== line && sameLine(i, { sku: l.sku, personalisation: text }));
            if (twin) { twin.quantity = Math.min(twin.quantity + line.quantity, MAX_QUANTITY); b.items = b.items.filter((i) => i !== line); }
            else line.personalisation = text || undefined;
            save(b);
            render();
          } })) : null;
        list.append(h('li', { class: 'line', 'data-line': l.sku },
          h('div', {}, h('a', { href: productUrl(l.sku) }, l.item.name), h('br'), h('small', {}, money(l.item.price)),
            // The product page says why (CDE art. VI.53); the basket says that it applies.
            l.item.withdrawal ? h('small', { 'data-no-withdrawal': l.item.withdrawal }, ` · ${tr('no_withdrawal')}`) : null, perso),
          h('div', { class: 'ctl' },
            h('label', { class: 'vh', for: id }, tr('quantity_of', { name: l.item.name })),
            h('input', { id, type: 'number', min: 1, max, value: l.quantity, inputmode: 'numeric', onchange: (ev) => {
              const n = Math.max(1, Math.min(max, Math.floor(Number(ev.target.value)) || 1));
              l.quantity = n;
              stored().quantity = n;
              save(b);
              render();
            } }),
            h('span', { class: 'amount' }, money(l.item.price * l.quantity)),
            h('button', { type: 'button', id: 'rm-' + id, 'aria-label': tr('remove_item', { name: l.item.name }), onclick: () => {
              b.items = b.items.filter((i) => !sameLine(i, l));
              save(b);
              render();
              (root.querySelector('.line input') || $('[data-basket-lines]', root)).focus();
            } }, tr('remove')))));
      });
      const section = h('section', { class: 'group', 'aria-labelledby': 'g-' + g.chalet },
        h('h2', { id: 'g-' + g.chalet }, h('a', { href: chaletUrl(g.chalet) }, g.name)), list);
      if (g.options.vouchersOnly) {
        section.append(h('p', {}, tr('pickup_voucher')));
      } else {
        const fs = h('fieldset', {}, h('legend', {}, tr('choose')));
        const radio = (value, label, hint) => h('label', {},
          h('input', { type: 'radio', id: `f-${g.chalet}-${value}`, name: 'f-' + g.chalet, value, checked: g.choice === value, onchange: () => {
            b.fulfilment[g.chalet] = value;
            save(b);
            render();
          } }), ' ', label, hint ? h('small', {}, ' — ' + hint) : null);
        if (g.options.pickup) fs.append(radio('pickup', tr('pickup')));
        if (g.options.shipping) {
          const s = g.options.shipping;
          const fee = g.shippingFee === 0 ? tr('free') : money(g.shippingFee);
          let hint = s.free_from != null ? tr('free_from', { amount: money(s.free_from) }) : null;
          if (s.free_from != null && g.shippingFee > 0) hint = tr('add_for_free', { amount: money(s.free_from - g.subtotal) });
          fs.append(radio('shipping', `${tr('shipping')} (${fee})`, hint));
        }
        section.append(fs);
      }
      section.append(h('label', { class: 'gift', for: 'gift-' + g.chalet }, tr('gift_note'),
        h('textarea', { id: 'gift-' + g.chalet, maxlength: 200, rows: 2, 'data-gift-note': g.chalet, onchange: (ev) => {
          b.giftNotes[g.chalet] = ev.target.value.trim() || undefined;
          save(b);
        } }, b.giftNotes[g.chalet] || '')));
      section.append(h('p', { class: 'sum' }, `${tr('subtotal')}${tr('colon')} `, h('strong', { 'data-group-total': g.chalet }, money(g.subtotal + g.fee))));
      linesEl.append(section);
    }
    const total = groups.reduce((s, g) => s + g.subtotal + g.fee, 0);
    $('[data-t="total"]', root).textContent = tr('total') + tr('colon');
    $('[data-basket-total]', root).textContent = money(total);
    const pay = $('[data-pay]', root);
    pay.textContent = tr('pay');
    pay.onclick = () => payNow(b, groups, pay, say, catalogue, render);
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  }

  // The reservation of the last *Pay*: sent again as `replaces`, so pressing *Pay* twice (or
  // coming back with the browser's Back button) never holds the same stock twice.
  const RESERVATION_KEY = 'chalet.reservation';
  function lastReservation() {
    try { return sessionStorage.getItem(RESERVATION_KEY) || undefined; } catch (e) { return undefined; }
  }
  function forgetReservation(id) {
    try { if (!id || sessionStorage.getItem(RESERVATION_KEY) === id) sessionStorage.removeItem(RESERVATION_KEY); } catch (e) { /* private mode */ }
  }

  /** The first line whose product needs an answer it lacks, said and focused; else null. */
  function unanswered(b, catalogue, say) {
    const line = b.items.find((i) => { const q = (catalogue.get(i.sku) || {}).personalisation; return q && q.required && !textOf(i); });
    if (!line) return null;
    const item = catalogue.get(line.sku);
    say(tr('personalisation_required', { label: item.personalisation.label, name: item.name }));
    const field = $$('[data-personalisation]').find((f) => f.dataset.personalisation === line.sku && !f.value.trim());
    if (field) field.focus();
    return line;
  }

  async function payNow(b, groups, pay, say, catalogue, render) {
    if (!cfg.checkout) return say(tr('no_checkout'));
    if (unanswered(b, catalogue, say)) return;
    const chalets = new Set(groups.map((g) => g.chalet));
    const notes = Object.entries(b.giftNotes || {}).filter(([c, t]) => chalets.has(c) && t);
    const body = {
      items: b.items.filter((i) => catalogue.has(i.sku)).map((i) => ({ sku: i.sku, quantity: i.quantity, personalisation: textOf(i) || undefined })),
      fulfilment: Object.fromEntries(groups.filter((g) => g.choice).map((g) => [g.chalet, g.choice])),
      gift_notes: notes.length ? Object.fromEntries(notes) : undefined,
      locale: cfg.lang,
      replaces: lastReservation(),
    };
    pay.disabled = true;
    say('');
    pay.textContent = tr('paying');
    let r;
    try {
      r = await getJson(cfg.checkout + R.api.checkout, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    } catch (e) {
      r = null;
    }
    if (r && r.ok && r.body && r.body.url) {
      try { sessionStorage.setItem(RESERVATION_KEY, r.body.reservation); } catch (e) { /* private mode */ }
      location.assign(r.body.url);
      return;
    }
    pay.disabled = false;
    pay.textContent = tr('pay');
    if (!r) return say(tr('error_network'));
    const err = (r.body && r.body.error) || {};
    if (err.code === E.out_of_stock) {
      const line = b.items.find((i) => i.sku === err.sku);
      const remaining = Math.max(0, Number(err.remaining) || 0);
      if (line && remaining > 0) line.quantity = remaining;
      else b.items = b.items.filter((i) => i.sku !== err.sku);
      save(b);
      render();
      let text = tr('out_of_stock', { remaining, name: err.name || err.sku });
      if (Number(err.held) > 0 && err.back_by) {
        const time = new Date(err.back_by).toLocaleTimeString(cfg.lang, { hour: '2-digit', minute: '2-digit' });
        text += ' ' + tr('out_of_stock_held', { held: err.held, name: err.name || err.sku, time });
      }
      say(text);
    } else if (err.code === E.unknown_sku) {
      const item = catalogue.get(err.sku);
      b.items = b.items.filter((i) => i.sku !== err.sku);
      save(b);
      render();
      say(tr('unavailable', { name: item ? item.name : err.sku }));
    } else if (err.code === E.fulfilment_required || err.code === E.invalid_fulfilment) {
      say(tr('fulfilment_required'));
    } else if (err.code === E.catalogue_changed) {
      say(tr('catalogue_changed'));
    } else if (err.code === E.personalisation_required || err.code === E.personalisation_too_long) {
      const item = catalogue.get(err.sku) || { name: err.sku };
      say(err.code === E.personalisation_required
        ? tr('personalisation_required', { label: err.label || '', name: item.name })
        : tr('personalisation_too_long', { label: err.label || '', n: err.max_length }));
    } else if (err.code === E.invalid_gift_note) {
      say(tr('invalid_gift_note'));
    } else if (err.code === E.no_common_shipping_country) {
      say(tr('no_common_country'));
    } else {
      say(tr('error_generic'));
    }
  }

  // ------------------------------------------------------------------ after payment
  async function initOrder(b) {
    const root = $('[data-order]');
    if (!root) return;
    const status = $('[data-order-status]', root);
    const id = new URLSearchParams(location.search).get(cfg.params.session);
    if (!id || !cfg.checkout) return void (status.textContent = tr('order_missing'));
    for (let attempt = 0; attempt < 20; attempt++) {
      let r = null;
      try { r = await getJson(cfg.checkout + fill(R.api.order, { session_id: id })); } catch (e) { /* retried */ }
      // 202 {status: "pending"}: paid orders are recorded when Stripe's webhook lands.
      if (r && r.ok && r.body && r.status !== 202) return showOrder(root, status, r.body, b);
      if (r && r.status !== 202) break;
      // The payment's webhook may arrive a moment after the shopper does.
      status.textContent = tr('order_wait');
      await new Promise((ok) => setTimeout(ok, 1500));
    }
    status.textContent = tr('order_missing');
  }

  /** The voucher's QR code (a payload the market signed, drawn by the function) as SVG. */
  function qrOf(qr, code) {
    if (!qr || !qr.path) return null;
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', `0 0 ${qr.size} ${qr.size}`);
    svg.setAttribute('class', 'voucher-qr');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `QR ${code}`);
    svg.dataset.voucherPayload = qr.payload;
    const back = document.createElementNS(ns, 'rect');
    back.setAttribute('width', qr.size);
    back.setAttribute('height', qr.size);
    back.setAttribute('fill', '#fff');
    const dark = document.createElementNS(ns, 'path');
    dark.setAttribute('d', qr.path);
    dark.setAttribute('fill', '#000');
    svg.append(back, dark);
    return svg;
  }

  /** Each voucher code sold, as a card to print and hand to the restaurant: where, what, the
   *  code, when it was issued, until when it is valid, on what terms. */
  function printableVouchers(order) {
    const day = (iso) => {
      const d = new Date(iso);
      return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(cfg.lang, { dateStyle: 'long', timeZone: 'UTC' });
    };
    const cards = [];
    for (const c of order.chalets) {
      for (const l of c.lines) {
        for (const code of l.voucher_codes || []) {
          const terms = l.voucher && l.voucher.terms;
          cards.push(h('article', { class: 'voucher-card', 'data-voucher-card': code },
            h('p', { class: 'voucher-at' }, tr('voucher_at'), h('strong', {}, ` ${c.chalet_name}`)),
            h('h3', {}, l.name),
            h('p', { class: 'codes voucher-code' }, code),
            qrOf((l.voucher_qr || []).find((q) => q.code === code), code),
            h('dl', {},
              h('dt', {}, tr('voucher_issued')), h('dd', {}, day(order.created)),
              l.valid_until ? h('dt', {}, tr('voucher_valid_until')) : null,
              l.valid_until ? h('dd', { 'data-voucher-valid-until': '' }, day(l.valid_until)) : null,
              terms ? h('dt', {}, tr('voucher_terms')) : null,
              terms ? h('dd', {}, terms) : null),
            h('p', { class: 'voucher-ref' }, `${tr('order_number')} ${order.reference}`)));
        }
      }
    }
    if (!cards.length) return [];
    const print = h('button', {
      type: 'button', class: 'secondary',
      onclick: () => {
        document.body.classList.add('print-vouchers');
        window.addEventListener('afterprint', () => document.body.classList.remove('print-vouchers'), { once: true });
        window.print();
      },
    }, tr('vouchers_print'));
    return [h('section', { class: 'vouchers', 'aria-labelledby': 'vouchers-title' },
      h('h2', { id: 'vouchers-title' }, tr('vouchers_title')), h('p', { class: 'no-print' }, print), ...cards)];
  }

  function showOrder(root, status, order, b) {
    status.textContent = `${tr('order_number')} ${order.reference}`;
    const detail = $('[data-order-detail]', root);
    detail.replaceChildren();
    const bought = new Set();
    for (const c of order.chalets) {
      const list = h('ul', { class: 'lines' });
      for (const l of c.lines) {
        bought.add(l.sku);
        list.append(h('li', { class: 'line' },
          h('div', {}, `${l.quantity} × `, h('a', { href: productUrl(l.sku) }, l.name),
            l.personalisation ? h('p', { 'data-order-personalisation': l.sku }, h('em', {}, l.personalisation)) : null,
            l.voucher_codes && l.voucher_codes.length ? h('p', {}, `${tr('codes')}${tr('colon')} `, h('span', { class: 'codes' }, l.voucher_codes.join(', '))) : null),
          h('span', { class: 'amount' }, money(l.unit_price * l.quantity))));
      }
      const how = c.fulfilment === 'shipping' ? `${tr('fulfilment_shipping')} (${c.shipping_fee ? money(c.shipping_fee) : tr('free')})` : tr('fulfilment_pickup');
      // Where it goes, as the shopper typed it on the payment page.
      const a = c.ship_to;
      const to = a ? h('p', { class: 'ship-to', 'data-ship-to': c.chalet }, `${tr('shipped_to')}${tr('colon')} `,
        [a.name, a.line1, a.line2, [a.postal_code, a.city].filter(Boolean).join(' '), a.country].filter(Boolean).join(', ')) : null;
      const at = c.pickup_at ? h('p', {}, `${tr('fulfilment_pickup')}${tr('colon')} ${c.pickup_at}`) : null;
      const note = c.gift_note ? h('p', {}, `${tr('gift_note')}${tr('colon')} « ${c.gift_note} »`) : null;
      detail.append(h('section', { class: 'group' }, h('h2', {}, h('a', { href: chaletUrl(c.chalet) }, c.chalet_name)), list, h('p', { class: 'sum' }, at ? null : how, at), to, note));
    }
    detail.append(h('p', { class: 'total' }, `${tr('total')}${tr('colon')} `, h('strong', { 'data-order-total': '' }, money(order.total))));
    detail.append(...printableVouchers(order));
    b.items = b.items.filter((i) => !bought.has(i.sku));
    save(b);
  }

  // ------------------------------------------------------------------ search
  let index = null;
  async function searchIndex() {
    if (!index) {
      index = getJson(R.search_index).then((r) => (r.body || []).map((e) => ({ ...e, f: fold(`${e.n} ${e.d} ${e.k}`), fn: fold(e.n) })));
    }
    return index;
  }

  function search(entries, q) {
    const words = fold(q).split(/\s+/).filter(Boolean);
    if (!words.length) return [];
    const scored = [];
    for (const e of entries) {
      if (!words.every((w) => e.f.includes(w))) continue;
      scored.push([e.fn.startsWith(words[0]) ? 0 : e.fn.includes(words[0]) ? 1 : 2, e]);
    }
    return scored.sort((a, b) => a[0] - b[0] || a[1].n.localeCompare(b[1].n, cfg.lang)).map((s) => s[1]);
  }

  const hitItem = (e) => h('li', {}, h('a', { href: e.u }, e.n, h('small', {}, e.d)));

  function initSearchBox() {
    const form = $('form.search');
    const input = form && form.elements.q;
    const hits = $('#hits');
    if (!input || !hits) return;
    let timer;
    input.setAttribute('aria-controls', 'hits');
    input.addEventListener('focus', () => { searchIndex(); }, { once: true });
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const q = input.value.trim();
        if (!q) { hits.hidden = true; return; }
        const found = search(await searchIndex(), q);
        hits.replaceChildren(
          h('p', { role: 'status' }, found.length ? tr('results', { n: found.length }) : tr('no_results', { q })),
          h('ul', {}, ...found.slice(0, 8).map(hitItem)));
        hits.hidden = false;
      }, 60);
    });
    form.addEventListener('keydown', (ev) => {
      const links = $$('a', hits);
      const at = links.indexOf(document.activeElement);
      if (ev.key === 'Escape') { hits.hidden = true; input.focus(); }
      else if (ev.key === 'ArrowDown' && !hits.hidden && links.length) { ev.preventDefault(); links[Math.min(at + 1, links.length - 1)].focus(); }
      else if (ev.key === 'ArrowUp' && at >= 0) { ev.preventDefault(); (at === 0 ? input : links[at - 1]).focus(); }
    });
    form.addEventListener('focusout', (ev) => { if (!form.contains(ev.relatedTarget)) hits.hidden = true; });
  }

  async function initSearchPage() {
    const page = $('[data-search-page]');
    if (!page) return;
    const q = new URLSearchParams(location.search).get('q') || '';
    const input = $('form.search input');
    if (input) input.value = q;
    const found = q.trim() ? search(await searchIndex(), q) : [];
    $('[data-search-status]', page).textContent = found.length ? tr('results', { n: found.length }) : tr('no_results', { q });
    $('[data-search-results]', page).replaceChildren(...found.map(hitItem));
  }

  // What the artisans' pages (atelier.js, loaded by their templates only) use of this script.
  window.chaletSite = Object.freeze({ cfg, h, money, fill, R, $ });

  const basket = load();
  showCount(basket);
  initAddForms(basket);
  initSearchBox();
  initSearchPage();
  initLiveStock();
  initBasket(basket);
  initOrder(basket);
  // Another tab changed the basket: keep the count (and this page's basket) honest.
  window.addEventListener('storage', (ev) => {
    if (ev.key !== KEY) return;
    const fresh = load();
    basket.items = fresh.items;
    basket.fulfilment = fresh.fulfilment;
    showCount(basket);
  });
})();
