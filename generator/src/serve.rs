//! `chalet serve`: build, serve the output on 127.0.0.1, rebuild when content or theme files
//! change, and reload the browser. A broken edit keeps the last good site on screen with the
//! diagnostics over it (and in the terminal) until it is fixed.
//!
//! Live reload is long polling (`/__chalet/wait?v=N` answers when the build version passes N),
//! which needs no streaming support from the HTTP server and survives proxies.

use crate::build::{BuildError, BuildOptions, Session, build_in};
use crate::diagnostic::report;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// What the browser needs to know about the latest build.
#[derive(Clone, Debug, Default)]
struct Status {
    version: u64,
    /// Diagnostics of the last failed build; empty when the site is current.
    errors: String,
    /// The output files each recent build wrote or deleted, by version: a tab reloads only if
    /// its page is among those changed since the version it shows.
    history: std::collections::VecDeque<(u64, Vec<String>)>,
}

/// Builds remembered for tabs that missed some; a tab further behind reloads.
const HISTORY: usize = 64;

impl Status {
    /// The files changed after version `since`, or `None` when that is too far back to know.
    fn changed_since(&self, since: u64) -> Option<Vec<&str>> {
        let oldest = self.history.front().map_or(self.version, |(v, _)| *v);
        if since + 1 < oldest {
            return None;
        }
        let mut out: Vec<&str> = self
            .history
            .iter()
            .filter(|(v, _)| *v > since)
            .flat_map(|(_, files)| files.iter().map(String::as_str))
            .collect();
        out.sort_unstable();
        out.dedup();
        Some(out)
    }
}

type Shared = Arc<(Mutex<Status>, Condvar)>;

/// How long file events must pause before a rebuild starts.
const DEBOUNCE: Duration = Duration::from_millis(15);
/// The same when the burst was only files edited in place and closed again: they are whole.
const SETTLED: Duration = Duration::from_millis(2);

/// What one burst of file events says about whether the files are whole yet. An edit in place
/// (an editor saving over the file, a script appending) ends with the file closed after
/// writing: nothing more is coming, so the build need not wait the whole [`DEBOUNCE`]. A file
/// created, removed or renamed may be one step of several (created empty, then written;
/// written aside, then renamed): those wait the whole pause.
#[derive(Debug, Default)]
struct Burst {
    /// Files written to and not closed since.
    open: std::collections::HashSet<PathBuf>,
    /// Anything but edits in place was seen.
    structural: bool,
}

impl Burst {
    fn closed_after_writing(kind: &notify::EventKind) -> bool {
        use notify::event::{AccessKind, AccessMode};
        matches!(kind, notify::EventKind::Access(AccessKind::Close(AccessMode::Write)))
    }

    fn take(&mut self, kind: &notify::EventKind, paths: &[PathBuf]) {
        use notify::EventKind;
        use notify::event::ModifyKind;
        match kind {
            k if Burst::closed_after_writing(k) => paths.iter().for_each(|p| {
                self.open.remove(p);
            }),
            EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => self.open.extend(paths.iter().cloned()),
            EventKind::Modify(ModifyKind::Metadata(_)) | EventKind::Access(_) => {}
            _ => self.structural = true,
        }
    }

    /// How long events must pause before the build starts.
    fn quiet(&self) -> Duration {
        if self.structural || !self.open.is_empty() {
            DEBOUNCE
        } else {
            SETTLED
        }
    }
}

/// Threads answering requests.
const WORKERS: usize = 32;
/// Longest request target and header block accepted.
const MAX_URL: usize = 8 * 1024;
const MAX_HEADERS: usize = 32 * 1024;

/// What every answer needs to know about the site being served.
#[derive(Debug)]
struct Site {
    out: PathBuf,
    port: u16,
    csp: String,
}

/// DNS rebinding: a page on another site may resolve its own name to 127.0.0.1 and read this
/// server. Only requests addressed to a loopback name are answered.
fn host_allowed(host: &str, port: u16) -> bool {
    let (name, given_port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) => (n, Some(p)),
        _ => (host, None),
    };
    let loopback = matches!(name.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "[::1]");
    loopback && given_port.is_none_or(|p| p.parse() == Ok(port))
}

const RELOAD_JS: &str = include_str!("serve_reload.js");

/// Serves until the process is stopped. `on_build` prints each build's outcome.
pub fn serve(
    opts: BuildOptions,
    port: u16,
    on_build: &(dyn Fn(&Result<crate::BuildReport, BuildError>) + Sync),
) -> std::io::Result<()> {
    let shared: Shared = Arc::new((Mutex::new(Status::default()), Condvar::new()));
    // Chalets validated by one build stay in memory for the next.
    let mut session = Session::watched(&opts);
    let first = isolated_build(&opts, &mut session);
    on_build(&first);
    record(&shared, &first);
    if let Err(BuildError::Io(e)) = first {
        return Err(e);
    }
    let server = tiny_http::Server::http(("127.0.0.1", port))
        .map_err(|e| std::io::Error::other(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    eprintln!(
        "Serving {} on http://127.0.0.1:{port}/ (Ctrl-C to stop)",
        opts.out.display()
    );

    let (tx, rx) = mpsc::channel();
    // `None`: the watcher lost events, so the next build lists the whole folder again.
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| match ev {
        Ok(ev) if ev.need_rescan() => {
            let _ = tx.send(None);
        }
        // Of the accesses, only "closed after writing" says something: that file is whole.
        Ok(ev) if !matches!(ev.kind, notify::EventKind::Access(_)) || Burst::closed_after_writing(&ev.kind) => {
            let _ = tx.send(Some((ev.kind, ev.paths)));
        }
        Ok(_) => {}
        Err(_) => {
            let _ = tx.send(None);
        }
    })
    .map_err(std::io::Error::other)?;
    use notify::Watcher;
    let out_abs = std::path::absolute(&opts.out).unwrap_or_else(|_| opts.out.clone());
    for dir in [opts.content.clone(), opts.themes_dir()] {
        if dir.is_dir() {
            watcher
                .watch(&dir, notify::RecursiveMode::Recursive)
                .map_err(std::io::Error::other)?;
        }
    }

    // A bounded pool, not a thread per request: a page full of images (or a misbehaving
    // client) cannot make the server spawn without limit. Long polls hold a worker each.
    let server = Arc::new(server);
    let site = Arc::new(Site {
        out: opts.out.clone(),
        port,
        csp: crate::mime::csp_with_checkout(opts.checkout_url.as_deref()),
    });
    for _ in 0..WORKERS {
        let (server, site, shared) = (server.clone(), site.clone(), shared.clone());
        std::thread::spawn(move || {
            while let Ok(req) = server.recv() {
                handle(req, &site, &shared);
            }
        });
    }

    loop {
        let Ok(first) = rx.recv() else { return Ok(()) };
        let mut relevant = false;
        let mut burst = Burst::default();
        let mut take = |event: Option<(notify::EventKind, Vec<PathBuf>)>, burst: &mut Burst| match event {
            Some((kind, paths)) => {
                let paths: Vec<PathBuf> = paths.into_iter().filter(|p| !p.starts_with(&out_abs)).collect();
                relevant |= paths.iter().any(|p| !is_noise(p));
                burst.take(&kind, &paths);
                // Every path, noise included: the listing must match what a scan would find.
                session.changed(paths);
            }
            None => {
                relevant = true;
                burst.structural = true;
                session.lost_track();
            }
        };
        take(first, &mut burst);
        // Editors write in bursts (temp file, rename, chmod) within a few milliseconds: wait for
        // a short quiet — shorter when every file written was closed again. Events during the
        // build start another one right after it.
        while let Ok(more) = rx.recv_timeout(burst.quiet()) {
            take(more, &mut burst);
        }
        if relevant {
            let result = isolated_build(&opts, &mut session);
            // The tabs first: printing a long list of warnings to a terminal takes a while.
            record(&shared, &result);
            on_build(&result);
        }
    }
}

fn is_noise(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name.contains(".tmp-build-")
}

/// A build whose panic (a bug, or a decoder meeting content it cannot handle) is reported like
/// any other problem instead of ending the server: the last good site stays on screen.
fn isolated_build(opts: &BuildOptions, session: &mut Session) -> Result<crate::BuildReport, BuildError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build_in(opts, session, &|_| {}))) {
        Ok(result) => result,
        Err(panic) => {
            // What the session held may be half updated: start the next build from the disk.
            *session = Session::watched(opts);
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown cause");
            Err(BuildError::Io(std::io::Error::other(format!(
                "the build failed unexpectedly ({what}); the last good site is still served. Please report this."
            ))))
        }
    }
}

fn record(shared: &Shared, result: &Result<crate::BuildReport, BuildError>) {
    let (lock, cvar) = &**shared;
    let mut st = lock.lock().unwrap_or_else(|e| e.into_inner());
    st.version += 1;
    st.errors = match result {
        Ok(_) => String::new(),
        Err(BuildError::Content(d)) => report(d),
        Err(BuildError::Io(e)) => e.to_string(),
    };
    let changed = result.as_ref().map(|r| r.changed.clone()).unwrap_or_default();
    let version = st.version;
    st.history.push_back((version, changed));
    if st.history.len() > HISTORY {
        st.history.pop_front();
    }
    cvar.notify_all();
}

fn handle(req: tiny_http::Request, site: &Site, shared: &Shared) {
    let out = site.out.as_path();
    let url = req.url().to_string();
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|h| h.field.as_str().as_str().len() + h.value.as_str().len())
        .sum();
    let host = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_string())
        .unwrap_or_default();
    let refused = if url.len() > MAX_URL {
        Some((414, "the address is too long"))
    } else if header_bytes > MAX_HEADERS {
        Some((431, "the request's headers are too large"))
    } else if !host_allowed(&host, site.port) {
        Some((421, "this preview answers only to 127.0.0.1 and localhost"))
    } else {
        None
    };
    if let Some((code, why)) = refused {
        let _ = req.respond(respond(code, "text/plain; charset=utf-8", why.as_bytes().to_vec()));
        return;
    }
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let response = match path {
        "/__chalet/reload.js" => respond(200, "text/javascript; charset=utf-8", RELOAD_JS.as_bytes().to_vec()),
        "/__chalet/wait" => {
            let since: u64 = query.strip_prefix("v=").and_then(|v| v.parse().ok()).unwrap_or(0);
            let (lock, cvar) = &**shared;
            let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            let (st, _) = cvar
                .wait_timeout_while(guard, Duration::from_secs(25), |s| s.version <= since)
                .unwrap_or_else(|e| e.into_inner());
            let body = serde_json::json!({
                "version": st.version,
                "errors": st.errors,
                // `null`: too far behind to say; reload.
                "changed": st.changed_since(since),
            });
            respond(200, "application/json", body.to_string().into_bytes())
        }
        _ => static_file(out, path),
    };
    let mut response = response;
    if let Ok(h) = tiny_http::Header::from_bytes("Content-Security-Policy", site.csp.as_bytes()) {
        response.add_header(h);
    }
    let _ = req.respond(response);
}

fn respond(code: u16, content_type: &str, body: Vec<u8>) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let mut r = tiny_http::Response::from_data(body).with_status_code(code);
    if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", content_type) {
        r.add_header(h);
    }
    if let Ok(h) = tiny_http::Header::from_bytes("Cache-Control", "no-store") {
        r.add_header(h);
    }
    r
}

fn static_file(out: &Path, url_path: &str) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let Some(file) = resolve(out, url_path) else {
        return not_found(out);
    };
    let mut bytes = Vec::new();
    if std::fs::File::open(&file)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .is_err()
    {
        return not_found(out);
    }
    let ct = crate::mime::content_type(&file);
    if ct.starts_with("text/html") {
        bytes = inject(bytes);
    }
    respond(200, ct, bytes)
}

fn not_found(out: &Path) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let body = std::fs::read(out.join("404.html"))
        .map(inject)
        .unwrap_or_else(|_| b"not found".to_vec());
    respond(404, "text/html; charset=utf-8", body)
}

/// URL path → file under `out`; `None` for anything that would leave it.
fn resolve(out: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let rel = Path::new(decoded.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut p = out.join(rel);
    if p.is_dir() {
        p = p.join("index.html");
    }
    p.is_file().then_some(p)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn inject(mut html: Vec<u8>) -> Vec<u8> {
    let tag = b"<script src=\"/__chalet/reload.js\" defer></script>";
    match html.windows(7).rposition(|w| w.eq_ignore_ascii_case(b"</body>")) {
        Some(i) => {
            html.splice(i..i, tag.iter().copied());
        }
        None => html.extend_from_slice(tag),
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_waits_the_whole_pause_unless_every_file_written_was_closed_in_place() {
        use notify::EventKind;
        use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, MetadataKind, ModifyKind, RenameMode};
        let a = vec![PathBuf::from("/c/a.md")];
        let b = vec![PathBuf::from("/c/b.md")];
        let written = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        let quiet = |events: &[(EventKind, &Vec<PathBuf>)]| {
            let mut burst = Burst::default();
            events.iter().for_each(|(k, p)| burst.take(k, p));
            burst.quiet()
        };
        // Appended to and closed: whole.
        assert_eq!(quiet(&[(written, &a), (closed, &a)]), SETTLED);
        // Still open, or another file still open: wait.
        assert_eq!(quiet(&[(written, &a)]), DEBOUNCE);
        assert_eq!(quiet(&[(written, &a), (written, &b), (closed, &a)]), DEBOUNCE);
        // Created (perhaps empty, to be written next), or renamed into place: wait.
        let created = EventKind::Create(CreateKind::File);
        assert_eq!(quiet(&[(created, &b), (closed, &b)]), DEBOUNCE);
        let renamed = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(quiet(&[(renamed, &a)]), DEBOUNCE);
        // Only its time or mode changed: nothing to wait for.
        assert_eq!(
            quiet(&[(EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)), &a)]),
            SETTLED
        );
    }

    #[test]
    fn refuses_paths_outside_the_output() {
        let dir = std::env::temp_dir();
        assert!(resolve(&dir, "/../etc/passwd").is_none());
        assert!(resolve(&dir, "/%2e%2e/etc/passwd").is_none());
    }

    #[test]
    fn answers_only_to_loopback_names() {
        for ok in [
            "127.0.0.1",
            "127.0.0.1:1225",
            "localhost:1225",
            "LOCALHOST",
            "[::1]:1225",
        ] {
            assert!(host_allowed(ok, 1225), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:1225",
            "127.0.0.1:80",
            "",
            "127.0.0.2:1225",
            "localhost.evil:1225",
        ] {
            assert!(!host_allowed(bad, 1225), "{bad}");
        }
    }

    #[test]
    fn injects_before_body_end() {
        let html = String::from_utf8(inject(b"<p>x</p></BODY>".to_vec())).expect("utf8");
        assert!(
            html.starts_with("<p>x</p><script src=\"/__chalet/reload.js\""),
            "{html}"
        );
    }
}
