// Live reload for `chalet serve`: wait for the next build; reload this tab only if its page
// changed, swap a changed stylesheet in place, or show the build's errors over the last good page.
(function () {
  var version = 0;
  // This page's output file, as the server names changed files (`chalets/x/index.html`).
  var path = decodeURIComponent(location.pathname).replace(/^\//, '');
  if (path === '' || path.slice(-1) === '/') path += 'index.html';
  // The page as served, to tell a stylesheet-only change from any other.
  var served = fetch(location.href, { cache: 'no-store' }).then(function (r) { return r.text(); });
  var STYLESHEET = /<link rel="stylesheet" href="[^"]*">/g;
  function overlay(text) {
    var el = document.getElementById('__chalet_errors');
    if (!text) { if (el) el.remove(); return; }
    if (!el) {
      el = document.createElement('pre');
      el.id = '__chalet_errors';
      el.setAttribute('role', 'alert');
      el.style.cssText = 'position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;margin:0;padding:1em;' +
        'background:#2b0b0b;color:#ffdede;font:13px/1.4 monospace;z-index:2147483647;white-space:pre-wrap';
      document.body.appendChild(el);
    }
    el.textContent = 'chalet: the last edit has problems; showing the last good build.\n\n' + text;
  }
  // The page changed: if only its stylesheets' addresses did, point them at the new files.
  function update() {
    Promise.all([served, fetch(location.href, { cache: 'no-store' }).then(function (r) { return r.text(); })])
      .then(function (pages) {
        var before = pages[0], after = pages[1];
        if (before.replace(STYLESHEET, '') !== after.replace(STYLESHEET, '')) { location.reload(); return; }
        var hrefs = (after.match(STYLESHEET) || []).map(function (tag) { return tag.split('"')[3]; });
        var links = document.querySelectorAll('link[rel="stylesheet"]');
        for (var i = 0; i < links.length && i < hrefs.length; i++) links[i].setAttribute('href', hrefs[i]);
        served = Promise.resolve(after);
        console.info('chalet: stylesheet updated');
      })
      .catch(function () { location.reload(); });
  }
  function wait() {
    fetch('/__chalet/wait?v=' + version, { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var first = version === 0;
        var newer = s.version !== version;
        version = s.version;
        if (s.errors) { overlay(s.errors); }
        else {
          overlay('');
          if (newer && !first) {
            if (s.changed === null) { location.reload(); return; }
            if (s.changed.indexOf(path) >= 0) update();
          }
        }
        wait();
      })
      .catch(function () { setTimeout(wait, 1000); });
  }
  wait();
})();
