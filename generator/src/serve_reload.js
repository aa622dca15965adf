// Live reload for `chalet serve`: wait for the next build, then reload, or show its errors.
(function () {
  var version = 0;
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
  function wait() {
    fetch('/__chalet/wait?v=' + version, { cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var first = version === 0;
        var changed = s.version !== version;
        version = s.version;
        if (s.errors) { overlay(s.errors); }
        else if (changed && !first) { location.reload(); return; }
        else { overlay(''); }
        wait();
      })
      .catch(function () { setTimeout(wait, 1000); });
  }
  wait();
})();
