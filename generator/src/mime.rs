//! What each published file is and how long it may be cached: one table for the dev server
//! (`serve`) and the S3 upload (`deploy`), so a file is served locally as it will be in
//! production. A leaf module: it depends on nothing but the route names.

use chalet_types::routes;
use std::path::Path;

/// Hashed names never change content: cache forever. Pages change with every rebuild: briefly.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const SHORT: &str = "public, max-age=60, must-revalidate";
pub const DEFAULT: &str = "public, max-age=3600";

/// The pages' Content-Security-Policy, as CloudFront sends it (`infra/template.yaml`, checked by a
/// test) and as `chalet serve` sends it, so a page that breaks it breaks locally first.
/// `'wasm-unsafe-eval'` lets the application form compile its checker, and nothing else: it
/// allows WebAssembly compilation, never JavaScript's `eval` (CSP Level 3, "can compile
/// WebAssembly bytes", https://www.w3.org/TR/CSP3/#can-compile-wasm-bytes).
pub const SITE_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
connect-src 'self'; form-action 'self' https://checkout.stripe.com; frame-ancestors 'none'; base-uri 'self'; \
object-src 'none'";

/// [`SITE_CSP`], also letting the pages call a checkout function on another origin (a local one
/// during development; deployed, it is `/api` on the site's own host). A function on loopback
/// presigns the application form's uploads for a local S3 server on loopback too, so then any
/// loopback port is allowed (deployed, CloudFront's policy names the applications bucket).
pub fn csp_with_checkout(checkout_url: Option<&str>) -> String {
    let origin = checkout_url
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(|u| {
            let after = u.split_once("://").map_or(u, |(_, r)| r);
            let host_end = after.find('/').unwrap_or(after.len());
            u[..u.len() - after.len() + host_end].to_string()
        });
    match origin {
        Some(o) => {
            let host = o.split_once("://").map_or("", |(_, h)| h);
            let loopback = ["127.0.0.1", "localhost", "[::1]"]
                .iter()
                .find(|l| host == **l || host.strip_prefix(**l).is_some_and(|rest| rest.starts_with(':')));
            let allowed = match loopback {
                Some(l) => format!("{o} http://{l}:*"),
                None => o,
            };
            SITE_CSP.replace("connect-src 'self'", &format!("connect-src 'self' {allowed}"))
        }
        None => SITE_CSP.to_string(),
    }
}

pub fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        // What `WebAssembly.instantiateStreaming` insists on.
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Files whose name stays while their content changes with each build: pages, and the data the
/// pages load (`catalogue.json`, `search.json`), sitemap and robots.
pub fn is_page(path: &str) -> bool {
    path.ends_with(".html")
        || path.ends_with(".xml")
        || path.ends_with(".txt")
        || path == routes::CATALOGUE
        || path == routes::SEARCH_INDEX
}

/// Files under the hashed folders are named by their content.
pub fn is_immutable(path: &str) -> bool {
    [routes::ASSETS_DIR, routes::IMAGES_DIR]
        .iter()
        .any(|dir| path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/')))
}

pub fn cache_control(path: &str) -> &'static str {
    if is_immutable(path) {
        IMMUTABLE
    } else if is_page(path) {
        SHORT
    } else {
        DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_per_kind_of_file() {
        assert_eq!(cache_control("assets/style.3f2a1b4c5d.css"), IMMUTABLE);
        assert_eq!(cache_control("images/bougie-640.3f2a1b4c5d.webp"), IMMUTABLE);
        assert_eq!(cache_control("chalets/x/index.html"), SHORT);
        assert_eq!(cache_control("sitemap.xml"), SHORT);
        assert_eq!(cache_control("catalogue.json"), SHORT);
        assert_eq!(
            cache_control("search.json"),
            SHORT,
            "the search index changes with content"
        );
        assert_eq!(cache_control("favicon.ico"), DEFAULT);
        assert_eq!(
            cache_control("imagesfoo.css"),
            DEFAULT,
            "a prefix is a folder, not a word"
        );
        assert_eq!(content_type(Path::new("a/b.webp")), "image/webp");
    }

    #[test]
    fn the_dev_server_lets_pages_call_a_local_checkout() {
        assert_eq!(csp_with_checkout(None), SITE_CSP);
        assert_eq!(csp_with_checkout(Some("/api")), SITE_CSP);
        assert!(
            csp_with_checkout(Some("http://127.0.0.1:9000/x"))
                .contains("connect-src 'self' http://127.0.0.1:9000 http://127.0.0.1:*;"),
            "a local function's uploads go to a local S3 server"
        );
        let remote = csp_with_checkout(Some("https://fn.example/api"));
        assert!(remote.contains("connect-src 'self' https://fn.example;"), "{remote}");
        assert!(!csp_with_checkout(Some("http://127.0.0.1.evil.example/")).contains(":*"));
        assert!(!csp_with_checkout(Some("http://localhostile.example/")).contains(":*"));
    }

    #[test]
    fn the_form_checker_is_served_as_webassembly() {
        assert_eq!(
            content_type(Path::new("assets/form/chalet-form.0123456789.wasm")),
            "application/wasm"
        );
    }
}
