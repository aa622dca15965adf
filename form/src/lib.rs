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
//! - `{"op": "preview", "kit": <exposer/kit.json>, "slug": …, "files": […]}` → the same, and
//!   when nothing is wrong the chalet's page and its products' pages as the site would show
//!   them (the market's templates, from the kit the build publishes beside the form);
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
    Preview {
        kit: Box<chalet::apply::Kit>,
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
        Ok(Request::Check { market, slug, files }) => match Folder::read(market, &slug, files) {
            Ok(folder) => {
                let checked = chalet::in_memory::check(&folder.files, &folder.photos);
                folder.answer(&checked.diags)
            }
            Err(e) => e,
        },
        Ok(Request::Preview { kit, slug, files }) => match Folder::read(kit.market.clone(), &slug, files) {
            Ok(mut folder) => match kit.images() {
                Ok(images) => {
                    folder.add_market_images(images);
                    folder.preview(&kit)
                }
                Err(e) => json!({ "error": e }),
            },
            Err(e) => e,
        },
        Ok(Request::Slugify { text }) => json!({ "slug": chalet_types::slugify(&text) }),
        Err(e) => json!({ "error": format!("the request could not be read: {e}") }),
    };
    answer.to_string()
}

/// A market holding one chalet folder, in memory.
struct Folder {
    slug: String,
    files: chalet::load::ContentFiles,
    photos: BTreeMap<String, Vec<u8>>,
}

impl Folder {
    fn read(market: String, slug: &str, files: Vec<FileIn>) -> Result<Folder, Value> {
        // Any one folder name, as on disk: a name that is not a slug is the checker's to
        // report, in its words (the form itself always sends a slug).
        let plain = !slug.is_empty() && slug != "." && slug != ".." && !slug.contains(['/', '\\']);
        if !plain || slug.chars().any(char::is_control) {
            return Err(json!({ "error": format!("`{slug}` is not a folder name") }));
        }
        let base = format!("chalets/{slug}/");
        let mut texts = vec![("market.yaml".to_string(), market)];
        let mut others = Vec::new();
        let mut photos = BTreeMap::new();
        for f in files {
            if f.path.split('/').any(|p| p.is_empty() || p == "." || p == "..") || f.path.contains('\\') {
                return Err(json!({ "error": format!("`{}` is not a path inside the chalet folder", f.path) }));
            }
            let rel = format!("{base}{}", f.path);
            match (f.text, f.base64) {
                (Some(text), None) => texts.push((rel, text)),
                (None, Some(b64)) => {
                    let bytes = match base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()) {
                        Ok(b) if b.len() <= MAX_PHOTO_BYTES => b,
                        Ok(_) => return Err(json!({ "error": format!("`{}` is larger than 25 MB", f.path) })),
                        Err(_) => return Err(json!({ "error": format!("`{}` is not base64", f.path) })),
                    };
                    others.push((rel.clone(), bytes.len() as u64));
                    photos.insert(rel, bytes);
                }
                _ => return Err(json!({ "error": format!("`{}` needs either `text` or `base64`", f.path) })),
            }
        }
        Ok(Folder {
            slug: slug.to_string(),
            files: chalet::load::from_memory("content", texts, others),
            photos,
        })
    }

    /// The market's own images (its sponsors' logos), where the content folder has them.
    fn add_market_images(&mut self, images: BTreeMap<String, Vec<u8>>) {
        for (rel, bytes) in images {
            if rel.starts_with("chalets/") {
                continue;
            }
            let meta = chalet::load::FileMeta {
                len: bytes.len() as u64,
                mtime_ns: 0,
            };
            self.files.others.insert(&rel, meta);
            self.photos.insert(rel, bytes);
        }
    }

    /// The chalet's problems, each as `chalet check` prints it (`text`) and in parts, by
    /// path inside the chalet folder; problems elsewhere (the market's) are not the artisan's.
    fn answer(&self, diags: &chalet::Diagnostics) -> Value {
        let prefix = format!("content/chalets/{}/", self.slug);
        let diags: Vec<Value> = diags
            .clone()
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
            "slug": self.slug,
            "errors": errors,
            "warnings": diags.len() - errors,
            "diagnostics": diags,
        })
    }

    /// [`Folder::answer`], and when nothing is wrong the chalet's pages rendered by the
    /// market's own templates (`pages`: the chalet's first) with the photo each image
    /// derivative they name is made from (`images`, by path inside the chalet folder).
    fn preview(&self, kit: &chalet::apply::Kit) -> Value {
        let theme = kit.theme();
        match chalet::in_memory::preview(&self.files, &self.photos, &theme) {
            Ok(p) => {
                let mut answer = self.answer(&p.diags);
                let prefix = format!("chalets/{}/", self.slug);
                answer["pages"] = p
                    .pages
                    .into_iter()
                    .map(|(path, html)| json!({ "path": path, "html": html }))
                    .collect();
                answer["images"] = p
                    .images
                    .into_iter()
                    .filter_map(|(out, rel)| Some((out, Value::from(rel.strip_prefix(&prefix)?))))
                    .collect::<serde_json::Map<_, _>>()
                    .into();
                answer
            }
            Err(diags) => {
                let mut answer = self.answer(&diags);
                // A template that fails on this chalet is the theme's problem, not the
                // artisan's: said, not hidden (its path is outside the chalet folder).
                if answer["errors"] == 0 && diags.has_errors() {
                    answer["error"] = diags.sorted().first().map(|d| d.to_string()).unwrap_or_default().into();
                }
                answer["pages"] = json!([]);
                answer
            }
        }
    }
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

    /// The kit the build publishes, made from the example market and the default theme.
    fn kit() -> Value {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let market = std::fs::read_to_string(root.join("content/market.yaml")).expect("market.yaml");
        let origin = chalet::model::Origin {
            path: "market.yaml".into(),
            line: 1,
            col: 1,
        };
        let (theme, _) = chalet::theme::load(
            &root.join("themes"),
            "default",
            &origin,
            &root.join("content/templates"),
            chalet_types::Language::Fr,
        )
        .expect("default theme");
        let logos = ["banque", "commerces", "radio"]
            .map(|n| {
                let rel = format!("sponsors/{n}.png");
                let bytes = std::fs::read(root.join("content").join(&rel)).expect("logo");
                (rel, bytes)
            })
            .into();
        // Where a build publishes each static file, as the renderer names them.
        let assets = theme
            .statics
            .iter()
            .map(|s| (s.rel.clone(), chalet::render::published_path(&s.rel, &s.sha256)))
            .collect();
        serde_json::to_value(chalet::apply::Kit::new(&market, &theme, &assets, &logos)).expect("kit")
    }

    #[test]
    fn the_preview_renders_the_chalet_and_its_products_with_the_sites_templates() {
        let photo = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../content/chalets/atelier-du-perron/products/boucles-perron.jpg"),
        )
        .expect("photo");
        let files = json!([
            { "path": "chalet.yaml", "text": "name: Chez Lina\nartisan: Lina\ntown: Liège\ncategory: bougies\ntrader:\n  legal_name: Lina Rose\n  kind: private\n  address: Rue Haute 1, 4000 Liège\nfulfilment: { pickup: Liège }\n" },
            { "path": "products/etoile.md", "text": "---\nname: Bougie étoile\nprice: \"12.50\"\nkind: goods\nimages:\n  - src: etoile.jpg\n    alt: Une bougie en étoile\n---\nCire d'abeille.\n" },
            { "path": "products/etoile.jpg", "base64": base64::engine::general_purpose::STANDARD.encode(&photo) },
        ]);
        let answer = run(json!({ "op": "preview", "kit": kit(), "slug": "chez-lina", "files": files }));
        assert_eq!(answer["errors"], 0, "{answer}");
        let pages = answer["pages"].as_array().expect("pages");
        assert_eq!(pages.len(), 2, "{answer}");
        assert_eq!(pages[0]["path"], "chalets/chez-lina/");
        let chalet = pages[0]["html"].as_str().expect("html");
        assert!(chalet.contains("<h1") && chalet.contains("Chez Lina"), "{chalet}");
        assert!(chalet.contains("Bougie étoile"));
        let product = pages[1]["html"].as_str().expect("html");
        assert!(product.contains("12,50"), "the price as the site shows it");
        // Every image derivative the pages name is mapped to the photo it is made from.
        let images = answer["images"].as_object().expect("images");
        assert!(
            !images.is_empty() && images.values().all(|v| v == "products/etoile.jpg"),
            "{images:?}"
        );
        assert!(images.keys().any(|out| product.contains(out.as_str())));

        // A mistake: no pages, the checker's words.
        let broken = json!([{ "path": "chalet.yaml", "text": "name: Chez Lina\n" }]);
        let answer = run(json!({ "op": "preview", "kit": kit(), "slug": "chez-lina", "files": broken }));
        assert!(answer["errors"].as_u64().expect("count") > 0, "{answer}");
        assert_eq!(answer["pages"], json!([]));
    }
}
