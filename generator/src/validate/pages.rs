//! Free pages: `pages/<slug>.md` (about, FAQ, terms, privacy, how to exhibit…).

use super::Validator;
use crate::model::Page;
use crate::yaml::slug_hint;
use chalet_types::Slug;
use chalet_types::routes::{self, Route};

pub(super) fn validate_all(v: &mut Validator) -> Vec<Page> {
    let rels: Vec<String> = v
        .files
        .texts
        .keys()
        .filter(|k| k.starts_with("pages/"))
        .cloned()
        .collect();
    let mut pages = Vec::new();
    for rel in rels {
        let name = &rel["pages/".len()..];
        let Some(stem) = name.strip_suffix(".md") else {
            v.file_warning(&rel, "only Markdown files (.md) are pages".into(), None);
            continue;
        };
        if stem.contains('/') {
            v.file_warning(&rel, "pages in sub-folders are ignored".into(), None);
            continue;
        }
        let slug = match Slug::parse(stem) {
            Ok(s) => match routes::reserved(s.as_str()) {
                Some(what) => {
                    v.file_error(
                        &rel,
                        format!(
                            "a page cannot be called `{s}`: its address `{}` clashes with {what}",
                            Route::Page(&s).path()
                        ),
                        Some(format!("rename it, e.g. `{s}-info.md`")),
                    );
                    None
                }
                None => Some(s),
            },
            Err(e) => {
                v.file_error(
                    &rel,
                    format!("page file name `{stem}` is not a valid slug: {e}"),
                    slug_hint(stem).map(|h| format!("rename the file: {h}")),
                );
                None
            }
        };
        let Some(file) = v.text(&rel) else { continue };
        let Some((root, body)) = v.markdown_file(file, "title: À propos") else {
            continue;
        };
        let mut r = v.reader(file);
        let Some(f) = r.fields(&root, "the page", &["title", "description"]) else {
            continue;
        };
        let title = r
            .required(&f, "title", "the page", "À propos")
            .and_then(|n| r.text(n, "title"));
        let description = r.opt_text(&f, "description", "description");
        if let (Some(slug), Some(title)) = (slug, title) {
            pages.push(Page {
                slug,
                title,
                description,
                body,
            });
        }
    }
    pages
}
