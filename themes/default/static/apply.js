// The artisans' application form (page `exposer`, partials/apply-form.html). It writes the chalet
// folder an artisan would write by hand (chalet.yaml, about.md, products/*.md, photos), has it
// checked and rendered by `chalet check`'s own code compiled to WebAssembly (form/src/lib.rs),
// shows every problem beside its field in the command line's words, previews the pages with the
// site's own templates, and hands the folder over as a zip: downloaded, or sent online.
//
// Loaded only on that page, as a module; the checker and the kit (market.yaml, templates) are
// fetched after first paint. Without JavaScript the page is the instructions.
//
// Node imports this file too (form/tests/compare.mjs): nothing below touches the DOM until
// `start()`.

/** Wraps an instantiated checker module: one call, a JSON request in, a JSON answer out. */
export function checker(instance) {
  const e = instance.exports;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return {
    call(request) {
      const bytes = encoder.encode(JSON.stringify(request));
      const at = e.chalet_alloc(bytes.length);
      new Uint8Array(e.memory.buffer, at, bytes.length).set(bytes);
      const answer = e.chalet_call(at, bytes.length);
      // Read after the call: the memory may have grown (a new buffer) meanwhile.
      const length = new DataView(e.memory.buffer).getUint32(answer, true);
      const text = decoder.decode(new Uint8Array(e.memory.buffer, answer + 4, length));
      e.chalet_free(answer, length + 4);
      return JSON.parse(text);
    },
  };
}

// ---- The folder, written as a person would write it ------------------------------------------

/** A YAML double-quoted scalar: JSON's escapes are YAML's. */
const q = (s) => JSON.stringify(s);

/** A text file built line by line, remembering which form field each line came from. */
class Lines {
  constructor() {
    this.lines = [];
    this.fields = []; // [line number (1-based), field id]
  }
  add(text, field) {
    this.lines.push(text);
    if (field) this.fields.push([this.lines.length, field]);
  }
  text() {
    return this.lines.join("\n") + "\n";
  }
}

/**
 * The chalet folder for `form` (plain values, see `collect`): files by path inside the folder,
 * texts or bytes, and for each text file which field each of its lines is from.
 * `slugify` is the command line's rule (the checker's `slugify`).
 */
export function writeFolder(form, slugify, header) {
  const files = [];
  const where = {};
  const c = new Lines();
  if (header) c.add(header);
  c.add(`name: ${q(form.name)}`, "f-name");
  c.add(`artisan: ${q(form.artisan)}`, "f-artisan");
  c.add(`town: ${q(form.town)}`, "f-town");
  c.add(`category: ${form.category || '""'}`, "f-category");
  if (form.tagline) c.add(`tagline: ${q(form.tagline)}`, "f-tagline");
  if (form.cover) c.add("cover: cover.jpg", "f-cover");
  c.add("contact:", "f-email");
  c.add(`  email: ${q(form.email)}`, "f-email");
  if (form.phone) c.add(`  phone: ${q(form.phone)}`, "f-phone");
  c.add("trader:", "f-legal-name");
  c.add(`  legal_name: ${q(form.legal_name)}`, "f-legal-name");
  c.add(`  kind: ${form.trader_kind}`, "f-trader-kind");
  if (form.trader_kind === "trader") c.add(`  enterprise_number: ${q(form.enterprise_number)}`, "f-enterprise");
  c.add(`  address: ${q(form.address)}`, "f-address");
  if (form.pickup || form.shipping_price || form.shipping_free_from) {
    c.add("fulfilment:", form.pickup ? "f-pickup" : "f-ship-price");
    if (form.pickup) c.add(`  pickup: ${q(form.pickup)}`, "f-pickup");
    if (form.shipping_price || form.shipping_free_from) {
      c.add("  shipping:", "f-ship-price");
      c.add(`    price: ${q(form.shipping_price)}`, "f-ship-price");
      if (form.shipping_free_from) c.add(`    free_from: ${q(form.shipping_free_from)}`, "f-ship-free");
    }
  }
  files.push({ path: "chalet.yaml", text: c.text() });
  where["chalet.yaml"] = c.fields;
  if (form.story.trim()) {
    files.push({ path: "about.md", text: form.story.trim() + "\n" });
    where["about.md"] = [[1, "f-story"]];
  }
  if (form.cover) files.push({ path: "cover.jpg", photo: form.cover });

  const taken = new Set();
  form.products.forEach((p, i) => {
    let slug = slugify(p.name) || `produit-${i + 1}`;
    for (let n = 2; taken.has(slug); n++) slug = `${slugify(p.name) || "produit"}-${n}`;
    taken.add(slug);
    const id = (f) => `${p.key}-${f}`;
    const m = new Lines();
    m.add("---", id("p-name"));
    m.add(`name: ${q(p.name)}`, id("p-name"));
    m.add(`price: ${q(p.price)}`, id("p-price"));
    // As typed: a number plainly, anything else quoted, so the checker says what is wrong
    // (a number field would have turned "l0" into nothing: made to order, silently).
    if (p.stock !== "") m.add(`stock: ${/^\d+$/.test(p.stock) ? p.stock : q(p.stock)}`, id("p-stock"));
    m.add(`kind: ${p.kind}`, id("p-kind"));
    if (p.kind === "food" && p.net) m.add(`net_quantity: ${q(p.net)}`, id("p-net"));
    if (p.kind === "food" && p.allergens) {
      const list = p.allergens.split(/[,;]/).map((a) => a.trim()).filter(Boolean);
      m.add(`allergens: [${list.map(q).join(", ")}]`, id("p-allergens"));
    }
    if (p.personalisation) m.add(`personalisation: ${q(p.personalisation)}`, id("p-personalisation"));
    if (p.photos.length) {
      m.add("images:", id("p-photos"));
      p.photos.forEach((ph, j) => {
        const name = `${slug}${p.photos.length > 1 ? `-${j + 1}` : ""}.jpg`;
        m.add(`  - src: ${name}`, id("p-photos"));
        m.add(`    alt: ${q(ph.alt)}`, ph.altField);
        files.push({ path: `products/${name}`, photo: ph });
      });
    }
    if (p.kind === "voucher" && p.terms) {
      m.add("voucher:", id("p-terms"));
      m.add(`  terms: ${q(p.terms)}`, id("p-terms"));
    }
    m.add("---", id("p-description"));
    for (const line of p.description.trim().split("\n")) m.add(line, id("p-description"));
    files.push({ path: `products/${slug}.md`, text: m.text() });
    where[`products/${slug}.md`] = m.fields;
  });
  return { slug: slugify(form.name) || "mon-chalet", files, where };
}

/** The field a diagnostic belongs to: its line's, else the nearest line above with one. */
export function fieldOf(where, d) {
  let best = null;
  for (const [line, field] of where[d.file] || []) if (line <= d.line) best = field;
  return best;
}

// ---- Zip (stored: photos are compressed already, texts are small) --------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip of `entries` ({path, bytes}), names in UTF-8, dated `when`. */
export function zip(entries, when = new Date()) {
  const enc = new TextEncoder();
  const time = (when.getHours() << 11) | (when.getMinutes() << 5) | (when.getSeconds() >> 1);
  const date = ((when.getFullYear() - 1980) << 9) | ((when.getMonth() + 1) << 5) | when.getDate();
  const parts = [];
  const central = [];
  let offset = 0;
  for (const { path, bytes } of entries) {
    const name = enc.encode(path);
    const crc = crc32(bytes);
    const head = new DataView(new ArrayBuffer(30));
    head.setUint32(0, 0x04034b50, true);
    head.setUint16(4, 20, true); // version needed: 2.0
    head.setUint16(6, 0x0800, true); // names are UTF-8
    head.setUint16(8, 0, true); // stored
    head.setUint16(10, time, true);
    head.setUint16(12, date, true);
    head.setUint32(14, crc, true);
    head.setUint32(18, bytes.length, true);
    head.setUint32(22, bytes.length, true);
    head.setUint16(26, name.length, true);
    parts.push(new Uint8Array(head.buffer), name, bytes);
    const dir = new DataView(new ArrayBuffer(46));
    dir.setUint32(0, 0x02014b50, true);
    dir.setUint16(4, 0x031e, true); // made by: Unix, 3.0
    dir.setUint16(6, 20, true);
    dir.setUint16(8, 0x0800, true);
    dir.setUint16(12, time, true);
    dir.setUint16(14, date, true);
    dir.setUint32(16, crc, true);
    dir.setUint32(20, bytes.length, true);
    dir.setUint32(24, bytes.length, true);
    dir.setUint16(28, name.length, true);
    dir.setUint32(38, 0o100644 << 16, true); // a regular file, rw-r--r--
    dir.setUint32(42, offset, true);
    central.push(new Uint8Array(dir.buffer), name);
    offset += 30 + name.length + bytes.length;
  }
  const size = central.reduce((n, p) => n + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, size, true);
  end.setUint32(16, offset, true);
  const all = [...parts, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function base64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

// ---- Photos: upright, at most 2,400 pixels, re-encoded (no GPS, no camera data) -------------

const MAX_SIDE = 2400;
const THUMB_SIDE = 480;

async function readPhoto(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  const draw = (side, quality) => {
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff"; // a transparent PNG becomes a photo on white
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return canvas;
  };
  const full = draw(MAX_SIDE);
  const blob = await new Promise((resolve) => full.toBlob(resolve, "image/jpeg", 0.86));
  if (!blob) throw new Error("no JPEG encoder");
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const thumb = draw(THUMB_SIDE).toDataURL("image/jpeg", 0.75);
  bitmap.close();
  return { bytes, b64: base64(bytes), thumb };
}

// ---- The page ---------------------------------------------------------------------------------

function start() {
  const form = document.getElementById("apply");
  if (!form) return;
  const t = (key, n) => (form.dataset[key] || "").replace("{n}", n);
  const $ = (id) => document.getElementById(id);
  const status = $("apply-status");
  const config = JSON.parse($("chalet-config").textContent);
  const productList = $("apply-products");
  const photos = new WeakMap(); // an <li> (or the cover input) → its photo
  let productCount = 0;
  let kit = null;
  let check = null;
  let last = null; // the last folder written and its answer

  function wireIds(root, prefix) {
    for (const el of root.querySelectorAll("[data-id]")) el.id = `${prefix}-${el.dataset.id}`;
    for (const el of root.querySelectorAll("[data-for]")) el.htmlFor = `${prefix}-${el.dataset.for}`;
    for (const el of root.querySelectorAll("[data-help]")) el.setAttribute("aria-describedby", `${prefix}-${el.dataset.help}`);
  }

  /** Wires a product's fieldset: its kind's fields, its photos, its removal. */
  function setupProduct(node) {
    const key = node.dataset.key;
    const kind = node.querySelector(`#${key}-p-kind`);
    const showKind = () => {
      for (const f of node.querySelectorAll("[data-kind]")) f.hidden = f.dataset.kind !== kind.value;
    };
    kind.addEventListener("change", showKind);
    showKind();
    node.querySelector("[data-remove]").addEventListener("click", () => {
      node.remove();
      number();
      schedule();
      $("apply-add-product").focus();
    });
    node.querySelector(`#${key}-p-photos`).addEventListener("change", (ev) => addPhotos(node, ev.target));
  }

  function addProduct() {
    productCount += 1;
    const key = `p${productCount}`;
    const node = $("apply-product-template").content.firstElementChild.cloneNode(true);
    node.dataset.key = key;
    wireIds(node, key);
    setupProduct(node);
    productList.append(node);
    number();
    return node;
  }

  const products = () => [...productList.querySelectorAll(":scope > fieldset")];

  function number() {
    products().forEach((p, i) => (p.querySelector("legend").textContent = t("tProduct", i + 1)));
  }

  let photoCount = 0;
  async function addPhotos(product, input) {
    const list = product.querySelector(".apply-photos");
    const err = product.querySelector(`#${product.dataset.key}-p-photos-err`);
    err.hidden = true;
    for (const file of input.files) {
      try {
        const photo = await readPhoto(file);
        photoCount += 1;
        const li = $("apply-photo-template").content.firstElementChild.cloneNode(true);
        wireIds(li, `ph${photoCount}`);
        li.querySelector("img").src = photo.thumb;
        li.querySelector("[data-remove-photo]").addEventListener("click", () => {
          li.remove();
          schedule();
        });
        photos.set(li, photo);
        list.append(li);
      } catch {
        err.textContent = t("tPhotoFailed");
        err.hidden = false;
      }
    }
    input.value = "";
    schedule();
  }

  $("f-cover").addEventListener("change", async (ev) => {
    const input = ev.target;
    const err = $("f-cover-err");
    err.hidden = true;
    photos.delete(input);
    if (input.files[0]) {
      try {
        photos.set(input, await readPhoto(input.files[0]));
      } catch {
        err.textContent = t("tPhotoFailed");
        err.hidden = false;
      }
    }
    schedule();
  });

  const value = (id) => ($(id)?.value ?? "").trim();
  function collect() {
    return {
      name: value("f-name"),
      artisan: value("f-artisan"),
      town: value("f-town"),
      category: value("f-category"),
      tagline: value("f-tagline"),
      story: $("f-story").value,
      cover: photos.get($("f-cover")) || null,
      email: value("f-email"),
      phone: value("f-phone"),
      legal_name: value("f-legal-name"),
      trader_kind: value("f-trader-kind"),
      enterprise_number: value("f-enterprise"),
      address: value("f-address").replace(/\s*\n\s*/g, ", "),
      pickup: value("f-pickup").replace(/\s*\n\s*/g, " — "),
      shipping_price: value("f-ship-price"),
      shipping_free_from: value("f-ship-free"),
      products: products().map((node) => {
        const k = node.dataset.key;
        return {
          key: k,
          name: value(`${k}-p-name`),
          price: value(`${k}-p-price`),
          kind: value(`${k}-p-kind`),
          stock: value(`${k}-p-stock`),
          description: $(`${k}-p-description`).value,
          personalisation: value(`${k}-p-personalisation`),
          net: value(`${k}-p-net`),
          allergens: value(`${k}-p-allergens`),
          terms: value(`${k}-p-terms`),
          photos: [...node.querySelectorAll(".apply-photos li")].map((li) => ({
            ...photos.get(li),
            alt: li.querySelector("input").value.trim(),
            altField: li.querySelector("input").id,
          })),
        };
      }),
    };
  }

  const slugify = (text) => (check ? check.call({ op: "slugify", text }).slug : "");

  function request(folder) {
    return folder.files.map((f) => (f.photo ? { path: f.path, base64: f.photo.b64 } : { path: f.path, text: f.text }));
  }

  function show(folder, answer) {
    for (const el of form.querySelectorAll(".err")) {
      el.hidden = true;
      el.textContent = "";
    }
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    const box = $("apply-problems");
    box.textContent = "";
    const diags = answer.diagnostics || [];
    const errors = diags.filter((d) => d.severity === "error");
    const warnings = diags.filter((d) => d.severity !== "error");
    const head = document.createElement("p");
    head.textContent = answer.error || (errors.length ? t("tProblems", errors.length) : t("tNoProblems"));
    box.append(head);
    for (const [list, label] of [
      [errors, null],
      [warnings, warnings.length ? t("tWarnings", warnings.length) : null],
    ]) {
      if (!list.length) continue;
      if (label) {
        const p = document.createElement("p");
        p.textContent = label;
        box.append(p);
      }
      const ul = document.createElement("ul");
      ul.className = "apply-diags";
      ul.dataset.severity = list === errors ? "error" : "warning";
      for (const d of list) {
        const field = fieldOf(folder.where, d);
        const li = document.createElement("li");
        const code = document.createElement("code");
        code.textContent = d.text;
        li.append(code);
        if (field && $(field)) {
          const err = $(`${field}-err`);
          if (err) {
            err.textContent = d.hint ? `${d.message} — ${d.hint}` : d.message;
            err.hidden = false;
            err.classList.toggle("warn", d.severity !== "error");
            const input = $(field);
            if (d.severity === "error") input.setAttribute("aria-invalid", "true");
            const ids = new Set((input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
            ids.add(err.id);
            input.setAttribute("aria-describedby", [...ids].join(" "));
          }
          const a = document.createElement("a");
          a.href = `#${field}`;
          a.textContent = ` → ${$(field).labels?.[0]?.firstChild?.textContent?.trim() || field}`;
          li.append(a);
        }
        ul.append(li);
      }
      box.append(ul);
    }
    const ok = !answer.error && errors.length === 0;
    $("apply-download").disabled = !ok;
    $("apply-send").disabled = !ok || !config.checkout;
    preview(answer);
  }

  function preview(answer) {
    const select = $("apply-preview-page");
    const pages = answer.pages || [];
    if (!pages.length) return; // the last good preview stays
    const chosen = select.value;
    select.textContent = "";
    pages.forEach((p, i) => {
      const o = document.createElement("option");
      o.value = p.path;
      o.textContent = i === 0 ? t("tChaletPage") : titleOf(p.html) || p.path;
      select.append(o);
    });
    if (pages.some((p) => p.path === chosen)) select.value = chosen;
    const page = pages.find((p) => p.path === select.value) || pages[0];
    $("apply-preview").srcdoc = withPhotos(page.html, answer.images);
  }

  /**
   * The page with the artisan's own photo in place of each image derivative it names (the
   * build would make them; `images` maps a derivative's path to the photo it is made from).
   * One pass over the page's URLs: a regular expression per derivative, unanchored, was
   * quadratic in the long base64 runs the first swap put in — seconds per keystroke.
   */
  function withPhotos(html, images) {
    const thumbs = [];
    for (const [out, src] of Object.entries(images || {})) {
      const photo = last.folder.files.find((f) => f.path === src)?.photo;
      if (photo) thumbs.push([out, photo.thumb]);
    }
    if (!thumbs.length) return html;
    // A URL in an attribute, a srcset or JSON-LD ends at a quote, a space, a comma or a bracket;
    // it names a derivative when it ends with its path, whole (`/images/x.jpg`, not `/images/ax.jpg`).
    return html.replace(/[^"'\s,()<>]+/g, (url) => {
      for (const [out, thumb] of thumbs) {
        if (url.endsWith(out) && (url.length === out.length || url[url.length - out.length - 1] === "/")) return thumb;
      }
      return url;
    });
  }

  const titleOf = (html) => /<h1[^>]*>([^<]*)</.exec(html)?.[1]?.trim();

  function run() {
    if (!check) return;
    const folder = writeFolder(collect(), slugify, kit.chalet_header);
    const answer = check.call({ op: "preview", kit, slug: folder.slug, files: request(folder) });
    last = { folder, answer };
    show(folder, answer);
  }

  let timer = 0;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  }

  function zipOf(folder) {
    const enc = new TextEncoder();
    return zip(
      folder.files.map((f) => ({
        path: `${folder.slug}/${f.path}`,
        bytes: f.photo ? f.photo.bytes : enc.encode(f.text),
      })),
    );
  }

  $("apply-download").addEventListener("click", () => {
    run();
    if (!last || $("apply-download").disabled) return;
    const bytes = zipOf(last.folder);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([bytes], { type: "application/zip" }));
    a.download = `${last.folder.slug}.zip`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  });

  $("apply-send").addEventListener("click", async () => {
    run();
    if (!last || $("apply-send").disabled) return;
    const say = $("apply-send-status");
    const button = $("apply-send");
    button.disabled = true;
    say.textContent = t("tSending");
    try {
      const bytes = zipOf(last.folder);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      const sha = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
      const values = collect();
      const res = await fetch(config.checkout + config.routes.api.applications, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          chalet_name: values.name,
          artisan: values.artisan,
          email: values.email,
          zip_size: bytes.length,
          zip_sha256: sha,
        }),
      });
      const answer = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(answer.message || res.statusText);
      const data = new FormData();
      for (const [k, v] of Object.entries(answer.upload.fields)) data.append(k, v);
      data.append("file", new Blob([bytes], { type: "application/zip" }), `${last.folder.slug}.zip`);
      const up = await fetch(answer.upload.url, { method: "POST", body: data });
      if (!up.ok) throw new Error(`upload: ${up.status}`);
      location.assign(answer.checkout.url);
    } catch (e) {
      say.textContent = `${t("tSendFailed")} (${e.message})`;
      button.disabled = false;
    }
  });

  $("apply-add-product").addEventListener("click", () => {
    const node = addProduct();
    node.querySelector("input").focus();
    schedule();
  });
  $("apply-preview-page").addEventListener("change", () => last && preview(last.answer));
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  form.addEventListener("submit", (ev) => ev.preventDefault());
  // The first product is in the page already.
  for (const node of products()) setupProduct(node);
  productCount = products().length;
  // Back from paying the registration: said first, where the artisan looks.
  if (new URLSearchParams(location.search).has(config.params.registered)) {
    status.textContent = t("tThanks");
    form.dataset.registered = "true";
  }

  // After first paint: the checker compiles while it downloads.
  const load = async () => {
    try {
      const [instance, k] = await Promise.all([
        WebAssembly.instantiateStreaming(fetch(form.dataset.wasm), {}).then((r) => r.instance),
        fetch(form.dataset.kit).then((r) => r.json()),
      ]);
      check = checker(instance);
      kit = k;
      if (!form.dataset.registered) status.textContent = t("tReady");
      form.dataset.ready = "true";
      run();
    } catch (e) {
      status.textContent = t("tUnavailable");
      console.error(e);
    }
  };
  if (document.readyState === "complete") setTimeout(load, 0);
  else addEventListener("load", () => setTimeout(load, 0), { once: true });
}

if (typeof document !== "undefined") start();
