//! Stage 4: data + templates → files in memory. Pure: nothing here reads or writes the disk,
//! so the whole output can be snapshot-tested and, later, re-rendered page by page.
//!
//! - [`view`]: the serialisable views templates receive.

pub mod view;

use crate::catalogue::catalogue;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::images::ImagePlan;
use crate::model::Site;
use crate::theme::Theme;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;
use view::Views;

/// One file of the built site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFile {
    /// Path under the output folder, `/`-separated.
    pub path: String,
    pub content: Content,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    Bytes(Vec<u8>),
    /// A file copied as it is (original images, until the image pipeline derives them).
    Copy(PathBuf),
}

/// A page to render: which template, where, with what.
struct Job {
    template: &'static str,
    path: String,
    context: tera::Context,
}

pub fn render(site: &Site, theme: &Theme, images: &ImagePlan) -> Result<Vec<OutputFile>, Diagnostics> {
    let tera = templates(theme)?;
    let views = Views::new(site, images);
    let market = views.market();
    let assets = assets(theme, &views.root);

    let mut base = tera::Context::new();
    base.insert("market", &market);
    base.insert("assets", &assets.urls);
    base.insert("t", &theme.strings);

    let mut jobs = Vec::new();
    let mut page = |template: &'static str, rel: String, fill: &dyn Fn(&mut tera::Context)| {
        let mut context = base.clone();
        context.insert("url", &views.url(&rel));
        context.insert("canonical", &format!("{}{}", site.market.base_url, rel));
        fill(&mut context);
        let path = if rel.is_empty() || rel.ends_with('/') {
            format!("{rel}index.html")
        } else {
            rel
        };
        jobs.push(Job {
            template,
            path,
            context,
        });
    };
    page("index.html", String::new(), &|_| {});
    page("sponsors.html", "sponsors/".into(), &|_| {});
    page("404.html", "404.html".into(), &|_| {});
    for category in &market.categories {
        page("category.html", format!("categories/{}/", category.slug), &|ctx| {
            ctx.insert("category", category)
        });
    }
    for p in &site.pages {
        let view = view::Link {
            title: p.title.clone(),
            url: views.url(&format!("{}/", p.slug)),
        };
        let body = views.markdown(&p.body, pulldown_cmark::HeadingLevel::H2);
        let description = p
            .description
            .clone()
            .unwrap_or_else(|| crate::markdown::summary(p.body.text(), 155));
        page("page.html", format!("{}/", p.slug), &|ctx| {
            ctx.insert("page", &view);
            ctx.insert("body_html", &body);
            ctx.insert("description", &description);
        });
    }
    for c in &site.chalets {
        let chalet = views.chalet(c);
        page("chalet.html", format!("chalets/{}/", c.slug), &|ctx| {
            ctx.insert("chalet", &chalet)
        });
        for (i, p) in c.products.iter().enumerate() {
            let product = views.product(c, p);
            // Neighbours: the chalet's other products first, then the same category's.
            let mut neighbours: Vec<_> = c
                .products
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, q)| views.product_card(c, q))
                .take(4)
                .collect();
            if neighbours.len() < 4 {
                let others = site
                    .chalets
                    .iter()
                    .filter(|o| o.category == c.category && o.slug != c.slug);
                neighbours.extend(
                    others
                        .filter_map(|o| o.products.first().map(|q| views.product_card(o, q)))
                        .take(4 - neighbours.len()),
                );
            }
            page(
                "product.html",
                format!("chalets/{}/{}/", c.slug, p.sku.product),
                &|ctx| {
                    ctx.insert("chalet", &chalet.card);
                    ctx.insert("chalet_shipping", &chalet.shipping);
                    ctx.insert("chalet_pickup", &chalet.pickup);
                    ctx.insert("product", &product);
                    ctx.insert("neighbours", &neighbours);
                },
            );
        }
    }

    let rendered: Vec<Result<OutputFile, Diagnostic>> = jobs
        .par_iter()
        .map(|job| match tera.render(job.template, &job.context) {
            Ok(html) => Ok(OutputFile {
                path: job.path.clone(),
                content: Content::Bytes(html.into_bytes()),
            }),
            Err(e) => Err(template_error(theme, job.template, &e)),
        })
        .collect();
    let mut diags = Diagnostics::default();
    let mut files = Vec::with_capacity(rendered.len() + images.images.len() + 8);
    for r in rendered {
        match r {
            Ok(f) => files.push(f),
            Err(d) => diags.push(d),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    let html_paths: Vec<String> = files.iter().map(|f| f.path.clone()).collect();
    files.push(bytes("sitemap.xml", sitemap(&site.market.base_url, &html_paths)));
    files.push(bytes(
        "robots.txt",
        format!(
            "User-agent: *\nAllow: /\n\nSitemap: {}sitemap.xml\n",
            site.market.base_url
        ),
    ));
    let cat = serde_json::to_string_pretty(&catalogue(site)).unwrap_or_default();
    files.push(bytes("catalogue.json", cat + "\n"));
    files.extend(assets.files);
    for img in &images.images {
        files.push(OutputFile {
            path: img.out.clone(),
            content: Content::Copy(img.source.clone()),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

fn bytes(path: &str, text: String) -> OutputFile {
    OutputFile {
        path: path.to_string(),
        content: Content::Bytes(text.into_bytes()),
    }
}

fn templates(theme: &Theme) -> Result<tera::Tera, Diagnostics> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on([".html", ".xml"]);
    let all = theme.templates.iter().map(|t| (t.name.as_str(), t.file.text.as_str()));
    if let Err(e) = tera.add_raw_templates(all) {
        let mut diags = Diagnostics::default();
        diags.push(template_error(theme, "", &e));
        return Err(diags);
    }
    for required in [
        "index.html",
        "chalet.html",
        "product.html",
        "category.html",
        "page.html",
        "sponsors.html",
        "404.html",
    ] {
        if !tera.contains_template(required) {
            let mut diags = Diagnostics::default();
            diags.push(Diagnostic {
                severity: Severity::Error,
                path: format!("themes/{}/templates/{required}", theme.name),
                line: 1,
                col: 1,
                message: format!("the theme has no `{required}` template"),
                hint: None,
            });
            return Err(diags);
        }
    }
    Ok(tera)
}

/// Tera points at problems as `--> name:line:col`; find that to report in the template's file.
fn error_location(message: &str) -> Option<(String, usize, usize)> {
    let at = message.find("--> ")? + 4;
    let rest = message[at..].lines().next()?.trim();
    let mut parts = rest.rsplitn(3, ':');
    let col = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    Some((parts.next()?.to_string(), line, col))
}

/// A template problem, shown at the template's file and line with Tera's explanation.
fn template_error(theme: &Theme, name: &str, e: &tera::Error) -> Diagnostic {
    let mut full = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        full.push('\n');
        full.push_str(&s.to_string());
        source = s.source();
    }
    let (name, line, col) = error_location(&full).unwrap_or_else(|| (name.to_string(), 1, 1));
    let path = theme
        .templates
        .iter()
        .find(|t| t.name == name)
        .map_or_else(|| format!("templates/{name}"), |t| t.file.display.clone());
    // The first line is the message; Tera's source excerpt follows and is kept as the hint.
    let mut lines = full.lines().map(|l| l.trim_start_matches("error: "));
    let message = lines.next().unwrap_or("template error").to_string();
    let excerpt: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    Diagnostic {
        severity: Severity::Error,
        path,
        line,
        col,
        message: format!("template error: {message}"),
        hint: (!excerpt.is_empty()).then(|| excerpt.join("\n")),
    }
}

/// Static files with a content hash in their name, so they can be cached forever.
struct Assets {
    urls: BTreeMap<String, String>,
    files: Vec<OutputFile>,
}

fn assets(theme: &Theme, root: &str) -> Assets {
    let mut urls = BTreeMap::new();
    let mut files = Vec::new();
    for s in &theme.statics {
        let hash = Sha256::digest(&s.bytes);
        let hex: String = hash.iter().take(5).map(|b| format!("{b:02x}")).collect();
        // Favicons and the like keep their names: browsers ask for them by name.
        let hashed = match s.rel.rsplit_once('.') {
            Some((stem, ext)) if !s.rel.starts_with("favicon") => {
                format!("assets/{stem}.{hex}.{ext}")
            }
            _ => s.rel.clone(),
        };
        urls.insert(s.rel.clone(), format!("{root}{hashed}"));
        files.push(OutputFile {
            path: hashed,
            content: Content::Bytes(s.bytes.clone()),
        });
    }
    Assets { urls, files }
}

fn sitemap(base_url: &str, html_paths: &[String]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for p in html_paths {
        if p == "404.html" {
            continue;
        }
        let loc = p.strip_suffix("index.html").unwrap_or(p);
        out.push_str(&format!(
            "  <url><loc>{}</loc></url>\n",
            crate::markdown::escape(&format!("{base_url}{loc}"))
        ));
    }
    out.push_str("</urlset>\n");
    out
}
