//! The application form's checker: the artisan's chalet folder, as the form writes it, checked
//! by `chalet check`'s own code (the generator's library without its native parts), compiled to
//! WebAssembly and run in the browser. One entry point takes a JSON request and answers JSON, so
//! the page and the tests speak to it the same way; [`ffi`] hands the bytes across.
//!
//! Requests (`op` says which):
//! - `{"op": "check", "market": "<market.yaml>", "slug": "chez-lina", "files": [{"path":
//!   "chalet.yaml", "text": "…"}, {"path": "products/etoile.jpg", "base64": "…"}]}` → every
//!   problem with the chalet's files, each as `chalet check` prints it (`text`) and in parts
//!   (`file`, `line`, `col`, `severity`, `message`, `hint`) for placing it beside its field;
//! - `{"op": "slugify", "text": "Chez Lina"}` → `{"slug": "chez-lina"}`, the rule the command
//!   line uses for names.

#[cfg(target_arch = "wasm32")]
mod ffi;

use base64::Engine;
use chalet::Severity;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A photo larger than this is not decoded (the form downscales to 2,400 pixels; the content
/// folder's own limit is 25 MB).
const MAX_PHOTO_BYTES: usize = 25 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum Request {
    Check {
        market: String,
        slug: String,
        files: Vec<FileIn>,
    },
    Slugify {
        text: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    /// Inside the chalet folder, `/`-separated (`products/etoile.md`).
    path: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    base64: Option<String>,
}

/// Answers one request; never panics on what it is given.
pub fn call(request: &str) -> String {
    let answer = match serde_json::from_str::<Request>(request) {
        Ok(Request::Check { market, slug, files }) => check(market, &slug, files),
        Ok(Request::Slugify { text }) => json!({ "slug": chalet_types::slugify(&text) }),
        Err(e) => json!({ "error": format!("the request could not be read: {e}") }),
    };
    answer.to_string()
}

fn check(market: String, slug: &str, files: Vec<FileIn>) -> Value {
    // Any one folder name, as on disk: a name that is not a slug is the checker's to report,
    // in its words (the form itself always sends a slug).
    let plain = !slug.is_empty() && slug != "." && slug != ".." && !slug.contains(['/', '\\']);
    if !plain || slug.chars().any(char::is_control) {
        return json!({ "error": format!("`{slug}` is not a folder name") });
    }
    let base = format!("chalets/{slug}/");
    let mut texts = vec![("market.yaml".to_string(), market)];
    let mut others = Vec::new();
    let mut photos = BTreeMap::new();
    for f in files {
        if f.path.split('/').any(|p| p.is_empty() || p == "." || p == "..") || f.path.contains('\\') {
            return json!({ "error": format!("`{}` is not a path inside the chalet folder", f.path) });
        }
        let rel = format!("{base}{}", f.path);
        match (f.text, f.base64) {
            (Some(text), None) => texts.push((rel, text)),
            (None, Some(b64)) => {
                let bytes = match base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()) {
                    Ok(b) if b.len() <= MAX_PHOTO_BYTES => b,
                    Ok(_) => return json!({ "error": format!("`{}` is larger than 25 MB", f.path) }),
                    Err(_) => return json!({ "error": format!("`{}` is not base64", f.path) }),
                };
                others.push((rel.clone(), bytes.len() as u64));
                photos.insert(rel, bytes);
            }
            _ => return json!({ "error": format!("`{}` needs either `text` or `base64`", f.path) }),
        }
    }
    let files = chalet::load::from_memory("content", texts, others);
    let checked = chalet::in_memory::check(&files, &photos);
    let prefix = format!("content/{base}");
    let diags: Vec<Value> = checked
        .diags
        .sorted()
        .into_iter()
        .filter_map(|d| {
            let file = d.path.strip_prefix(&prefix)?.to_string();
            Some(json!({
                "file": file,
                "line": d.line,
                "col": d.col,
                "severity": if d.severity == Severity::Error { "error" } else { "warning" },
                "message": d.message,
                "hint": d.hint,
                "text": d.to_string(),
            }))
        })
        .collect();
    let errors = diags.iter().filter(|d| d["severity"] == "error").count();
    json!({
        "slug": slug,
        "errors": errors,
        "warnings": diags.len() - errors,
        "diagnostics": diags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKET: &str =
        "name: Marché\nbase_url: https://m.example/\ncategories:\n  - { slug: bougies, name: Bougies }\n";

    fn run(request: Value) -> Value {
        serde_json::from_str(&call(&request.to_string())).expect("JSON answer")
    }

    #[test]
    fn a_mistake_is_reported_as_chalet_check_prints_it() {
        let answer = run(json!({
            "op": "check", "market": MARKET, "slug": "chez-lina",
            "files": [
                { "path": "chalet.yaml", "text": "name: Chez Lina\nartisan: Lina\ntown: Liège\ncategory: bougie\nfulfilment: { pickup: Liège }\n" },
                { "path": "products/etoile.md", "text": "---\nname: Étoile\nprice: douze\n---\n" },
            ]
        }));
        assert_eq!(answer["errors"], 2, "{answer}");
        let texts: Vec<&str> = answer["diagnostics"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|d| d["text"].as_str())
            .collect();
        assert!(
            texts.iter().any(|t| t.starts_with(
                "content/chalets/chez-lina/chalet.yaml:4:11: category `bougie` is not declared in market.yaml"
            )),
            "{texts:?}"
        );
        assert!(
            texts.iter().any(|t| t
                .starts_with("content/chalets/chez-lina/products/etoile.md:3:8: price `douze` is not a valid price")),
            "{texts:?}"
        );
        assert_eq!(answer["diagnostics"][0]["file"], "chalet.yaml");
    }

    #[test]
    fn bad_requests_get_an_error_never_a_panic() {
        for bad in [
            json!({ "op": "check", "market": MARKET, "slug": "../x", "files": [] }),
            json!({ "op": "check", "market": MARKET, "slug": "a", "files": [{ "path": "../x.md", "text": "" }] }),
            json!({ "op": "check", "market": MARKET, "slug": "a", "files": [{ "path": "x.jpg", "base64": "***" }] }),
            json!({ "op": "fly" }),
        ] {
            assert!(run(bad.clone())["error"].is_string(), "{bad}");
        }
        assert!(call("not json").contains("error"));
        assert_eq!(
            run(json!({ "op": "slugify", "text": "Chez Lina" }))["slug"],
            "chez-lina"
        );
    }
}
