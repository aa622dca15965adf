// atelier.js — the artisans' pages of the default theme, loaded by their templates only:
// `atelier/` (a chalet's orders, ready and shipped) and `atelier/bons/` (a restaurant's staff
// honour vouchers). Both open with a chalet's private link, `#chalet=<slug>&token=<token>`:
// the fragment is never sent to a server, and the token goes to the checkout function in a
// header or a request body, never in an address. The staff open the second with `#chalet=<slug>`
// alone and type the PIN their restaurant set there. market.js (loaded first) lends its helpers.
(() => {
  'use strict';
  const site = window.chaletSite;
  if (!site) return;
  const { cfg, h, money, fill, R, $ } = site;

  /** What both pages start from: their words (the template's `data-t-*`), the chalet and token
   *  of the link they were opened with (`null` when there is no usable link), and the chalet
   *  alone (a staff's address). Another chalet's link opened in the same tab changes only the
   *  fragment: the page starts again. */
  function opened(root) {
    const w = (key, vars) => (root.dataset['t' + key] || key).replace(/\{(\w+)\}/g, (_, v) => (vars && v in vars ? vars[v] : ''));
    window.addEventListener('hashchange', () => location.reload());
    const params = new URLSearchParams(location.hash.slice(1));
    const chalet = params.get('chalet');
    const token = params.get('token');
    return {
      w,
      link: chalet && token && cfg.checkout ? { chalet, token } : null,
      staff: chalet && !token && cfg.checkout ? chalet : null,
    };
  }

  // ------------------------------------------------------------------ a chalet's orders
  async function initAtelier() {
    const root = $('[data-atelier]');
    if (!root) return;
    const { w, link } = opened(root);
    const status = $('[data-atelier-status]', root);
    const list = $('[data-atelier-orders]', root);
    if (!link) { status.textContent = w('NoLink'); return; }
    const { chalet, token } = link;
    const auth = { authorization: 'Bearer ' + token };
    const api = (path, vars) => cfg.checkout + fill(path, { slug: chalet, ...vars });
    let orders;
    try {
      const res = await fetch(api(R.api.chalet_orders), { headers: auth });
      if (res.status === 403) { status.textContent = w('Forbidden'); return; }
      if (!res.ok) throw new Error(String(res.status));
      orders = (await res.json()).orders || [];
    } catch {
      status.textContent = w('Failed');
      return;
    }
    status.textContent = orders.length ? w('Count', { n: orders.length }) : w('None');
    // A restaurant: its staff's page, with the same link.
    const desk = $('[data-atelier-vouchers]', root);
    if (orders.some((o) => (o.lines || []).some((l) => (l.voucher_codes || []).length))) {
      desk.href = 'bons/' + location.hash;
      desk.hidden = false;
    }
    const csv = $('[data-atelier-csv]', root);
    csv.hidden = orders.length === 0;
    csv.addEventListener('click', async () => {
      const res = await fetch(api(R.api.chalet_orders_csv), { headers: auth });
      if (!res.ok) { status.textContent = w('Failed'); return; }
      const a = h('a', { href: URL.createObjectURL(await res.blob()), download: `${chalet}-orders.csv` });
      document.body.append(a);
      a.click();
      a.remove();
    });
    const day = (created) => {
      const d = new Date(created);
      return Number.isNaN(d.getTime()) ? created : d.toLocaleString(cfg.lang, { dateStyle: 'long', timeStyle: 'short' });
    };
    const handed = (share) => share.handover === 'ready' ? w('Ready')
      : share.handover === 'shipped' ? w('Shipped') : '';
    list.replaceChildren(...orders.slice().reverse().map((share) => {
      const f = share.fulfilment || {};
      const ref = String(share.order || '').slice(-8).toUpperCase();
      const lines = share.lines || [];
      const codes = lines.flatMap((l) => l.voucher_codes || []);
      const goods = lines.reduce((n, l) => n + l.unit_price * l.quantity, 0);
      const shipping = f.choice === 'shipping' ? (f.shipping_fee || 0) : 0;
      const where = f.choice === 'shipping'
        ? h('p', {}, h('strong', {}, w('Shipping') + ' '), Object.values(share.ship_to || {}).filter(Boolean).join(', '))
        : h('p', {}, h('strong', {}, w('Pickup') + ' '), [share.name, share.phone].filter(Boolean).join(', '));
      const state = h('p', { 'data-atelier-handover': share.order }, handed(share));
      if (share.tracking_url) state.append(' — ', h('a', { href: share.tracking_url, rel: 'noopener' }, w('TrackingLink')));
      const tracking = f.choice === 'shipping' ? h('input', { type: 'url', id: `track-${share.order}`, placeholder: 'https://', inputmode: 'url' }) : null;
      const say = h('p', { class: 'notice', role: 'alert', hidden: true });
      const mark = h('button', {
        type: 'button',
        onclick: async () => {
          mark.disabled = true;
          const body = { token, status: f.choice === 'shipping' ? 'shipped' : 'ready' };
          if (tracking && tracking.value.trim()) body.tracking_url = tracking.value.trim();
          try {
            const res = await fetch(api(R.api.handover, { order: share.order }), {
              method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
            });
            const answer = await res.json().catch(() => ({}));
            if (!res.ok) throw new Error((answer.error && answer.error.message) || String(res.status));
            share.handover = body.status;
            state.textContent = handed(share);
            say.hidden = true;
          } catch (e) {
            say.textContent = e.message;
            say.hidden = false;
          }
          mark.disabled = false;
        },
      }, f.choice === 'shipping' ? w('MarkShipped') : w('MarkReady'));
      return h('article', { class: 'atelier-order', 'data-atelier-order': share.order },
        h('h2', {}, w('Order', { ref }), h('small', {}, ' · ' + day(share.created))),
        h('h3', {}, w('ToPrepare')),
        h('ul', {}, ...lines.map((l) => h('li', {}, `${l.quantity} × ${l.name} — ${money(l.unit_price * l.quantity)}`,
          l.personalisation ? h('p', {}, h('em', {}, l.personalisation)) : null))),
        f.gift_note ? h('p', {}, h('strong', {}, w('Gift') + ' '), f.gift_note) : null,
        codes.length ? h('p', {}, h('strong', {}, w('Codes') + ' '), h('span', { class: 'codes' }, codes.join(' '))) : null,
        where,
        h('p', {}, h('strong', {}, w('Total') + ' '), money(goods + shipping), shipping ? ` (${w('ShippingFee')} ${money(shipping)})` : ''),
        state,
        tracking ? h('p', {}, h('label', { for: tracking.id }, w('Tracking')), tracking) : null,
        h('p', {}, mark),
        say);
    }));
  }

  // A restaurant's staff honour vouchers (`atelier/bons/#chalet=…&token=…`, or `#chalet=…` and
  // the staff PIN): one code, one redemption (the function's conditional write decides), undone
  // within two minutes. Opened with the link, the page also sets the staff PIN.
  function initVoucherDesk() {
    const root = $('[data-voucher-desk]');
    if (!root) return;
    const { w, link, staff } = opened(root);
    const camel = (code) => code.replace(/(^|_)(\w)/g, (_, __, c) => c.toUpperCase());
    const result = $('[data-voucher-result]', root);
    const form = $('[data-voucher-form]', root);
    const input = $('#voucher-code', root);
    const pin = $('#staff-pin', root);
    const back = $('[data-atelier-back]', root);
    back.href = '../' + location.hash;
    if (!link && !staff) {
      result.textContent = w('NoLink');
      form.hidden = true;
      return;
    }
    if (staff) {
      // The staff see no orders: no way back to them, and the PIN asked with each code.
      back.hidden = true;
      pin.required = true;
      pin.parentElement.hidden = false;
    } else {
      initStaffPin(root, w, link);
    }
    const who = () => (link ? { token: link.token } : { chalet: staff, pin: pin.value.trim() });
    const post = async (path, code) => {
      const res = await fetch(cfg.checkout + fill(path, { code }), {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(who()),
      });
      return { ok: res.ok, answer: await res.json().catch(() => ({})) };
    };
    const refusal = (answer) => {
      const e = answer.error || {};
      const vars = { date: e.date || '', left: e.attempts_left, minutes: Math.ceil((e.retry_after || 60) / 60) };
      return e.code && root.dataset['t' + camel(e.code)] ? w(camel(e.code), vars) : w('Failed');
    };
    // A scanned QR code carries `CHV1.<code>.<sku>.<valid until>.<signature>`: checked with the
    // market's public key (kept for offline use) before anything is redeemed.
    const keyStore = `chalet-voucher-key:${cfg.root}`;
    async function publicKey() {
      try {
        const res = await fetch(cfg.checkout + R.api.voucher_key);
        if (res.ok) localStorage.setItem(keyStore, (await res.json()).key);
      } catch { /* offline: the key kept from before */ }
      return localStorage.getItem(keyStore);
    }
    /** `true`, `false`, or `null` when there is no key to check with (first visit, offline). */
    async function genuine(payload) {
      const key = await publicKey();
      const cut = payload.lastIndexOf('.');
      if (!key) return null;
      if (cut < 0) return false;
      const bytes = (b64) => Uint8Array.from(atob(b64.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
      try {
        const k = await crypto.subtle.importKey('raw', bytes(key), { name: 'Ed25519' }, false, ['verify']);
        return await crypto.subtle.verify({ name: 'Ed25519' }, k, bytes(payload.slice(cut + 1)),
          new TextEncoder().encode(payload.slice(0, cut)));
      } catch {
        return false;
      }
    }
    async function redeem(raw) {
      let code = raw.trim();
      if (!code) return;
      result.replaceChildren();
      if (code.startsWith('CHV1.')) {
        const verdict = await genuine(code);
        if (verdict === null) {
          result.append(h('p', { class: 'notice', 'data-voucher-refused': 'unverifiable' }, w('Unverifiable')));
          return;
        }
        if (!verdict) {
          result.append(h('p', { class: 'notice', 'data-voucher-refused': 'forged' }, w('Forged')));
          return;
        }
        code = code.split('.')[1];
      }
      code = code.toUpperCase();
      let r;
      try { r = await post(R.api.redeem, code); } catch { result.textContent = w('Failed'); return; }
      if (!r.ok) {
        const refused = (r.answer.error || {}).code;
        result.append(h('p', { class: 'notice', 'data-voucher-refused': refused }, refusal(r.answer)));
        if (refused === 'wrong_pin') { pin.value = ''; pin.focus(); }
        return;
      }
      const undo = h('button', {
        type: 'button', class: 'secondary',
        onclick: async () => {
          undo.disabled = true;
          let u;
          try { u = await post(R.api.undo, code); } catch { u = { ok: false, answer: {} }; }
          result.replaceChildren(h('p', { class: 'notice' }, u.ok ? w('Undone') : refusal(u.answer)));
        },
      }, w('Undo'));
      result.append(
        h('p', { class: 'notice ok', 'data-voucher-accepted': code }, w('Redeemed', { name: r.answer.name || code }),
          r.answer.valid_until ? ' ' + w('ValidUntil', { date: r.answer.valid_until }) : ''),
        h('p', {}, undo));
      // The undo is offered while the function would still accept it.
      const left = r.answer.undo_until * 1000 - Date.now();
      setTimeout(() => undo.remove(), Math.max(0, Math.min(left, 120_000)));
      input.value = '';
      input.focus();
    }
    form.addEventListener('submit', (ev) => { ev.preventDefault(); redeem(input.value); });
    // Scanning where the browser can read codes from the camera (Chrome on Android, Safari…).
    const scan = $('[data-voucher-scan]', root);
    if ('BarcodeDetector' in window && navigator.mediaDevices) {
      scan.hidden = false;
      scan.addEventListener('click', async () => {
        const video = $('[data-voucher-video]', root);
        let stream;
        try {
          stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
        } catch { return; }
        const detector = new window.BarcodeDetector({ formats: ['qr_code', 'code_128'] });
        video.srcObject = stream;
        video.hidden = false;
        await video.play();
        result.textContent = w('Scanning');
        const stop = () => { stream.getTracks().forEach((t) => t.stop()); video.hidden = true; };
        const look = async () => {
          const found = await detector.detect(video).catch(() => []);
          if (found.length) { stop(); input.value = found[0].rawValue; redeem(found[0].rawValue); } else requestAnimationFrame(look);
        };
        look();
      });
    }
  }

  /** The owner's part of the desk: whether a staff PIN is set, setting or ending it, and the
   *  address to give the staff (this page, with the chalet but not the token). */
  function initStaffPin(root, w, { chalet, token }) {
    const section = $('[data-pin-admin]', root);
    const state = $('[data-pin-state]', section);
    const said = $('[data-pin-result]', section);
    const url = cfg.checkout + fill(R.api.staff_pin, { slug: chalet });
    const auth = { authorization: 'Bearer ' + token };
    const show = (answer) => {
      const since = answer.set_at ? new Date(answer.set_at * 1000).toLocaleDateString(cfg.lang, { dateStyle: 'long' }) : '';
      state.textContent = answer.set ? w('PinIsSet', { date: since }) : w('PinNone');
      $('[data-pin-end]', section).hidden = !answer.set;
    };
    $('[data-pin-link]', section).value = location.origin + location.pathname + '#chalet=' + encodeURIComponent(chalet);
    const send = async (pin) => {
      said.replaceChildren();
      try {
        const res = await fetch(url, {
          method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ pin }),
        });
        const answer = await res.json().catch(() => ({}));
        if (!res.ok) {
          const code = (answer.error || {}).code;
          said.append(h('p', { class: 'notice', 'data-pin-refused': code || '' }, code === 'invalid_pin' ? w('InvalidPin') : w('Failed')));
          return;
        }
        show(answer);
        $('#new-pin', section).value = '';
      } catch { said.textContent = w('Failed'); }
    };
    $('[data-pin-form]', section).addEventListener('submit', (ev) => { ev.preventDefault(); send($('#new-pin', section).value.trim()); });
    $('[data-pin-end]', section).addEventListener('click', () => send(null));
    fetch(url, { headers: auth })
      .then((res) => (res.ok ? res.json() : Promise.reject(new Error(String(res.status)))))
      .then((answer) => { show(answer); section.hidden = false; })
      .catch(() => { /* no PIN management without the function: the desk still works */ });
  }

  initAtelier();
  initVoucherDesk();
})();
