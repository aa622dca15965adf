//! One owner for every address: free pages cannot take a built-in page's address, two sources
//! cannot write one file, and a `base_url` with a sub-path reaches every URL the site holds.

use crate::common::*;
use std::path::Path;

/// The minimal fixture in a temp folder, its `base_url` replaced.
fn with_base_url(base_url: &str) -> tempfile::TempDir {
    let tmp = site_in_temp("valid/minimal");
    let market = tmp.path().join("content/market.yaml");
    let text = read(&market).replace("https://petit-marche.example/", base_url);
    std::fs::write(&market, text).expect("write");
    tmp
}

fn themes_arg() -> String {
    themes().to_str().expect("utf8").to_string()
}

/// Regression: `pages/order.md` once replaced the order confirmation page without a word.
#[test]
fn a_page_named_like_a_built_in_page_is_refused_and_dist_untouched() {
    let builtin = [
        "order",
        "basket",
        "search",
        "sponsors",
        "404",
        "chalets",
        "categories",
        "assets",
        "images",
        "api",
        "index",
        "sitemap",
        "robots",
        "catalogue",
    ];
    let tmp = site_in_temp("valid/minimal");
    assert_eq!(chalet(tmp.path(), &["build", "--themes", &themes_arg()]).code, 0);
    let before = tree(&tmp.path().join("dist"));
    for name in builtin {
        let page = tmp.path().join(format!("content/pages/{name}.md"));
        std::fs::write(&page, "---\ntitle: Ma page\n---\nTexte.\n").expect("write");
        for verb in ["check", "build"] {
            let run = chalet(tmp.path(), &[verb, "--themes", &themes_arg()]);
            assert_eq!(run.code, 1, "{verb} {name}: {}", run.stderr);
            let line = run
                .stderr
                .lines()
                .find(|l| {
                    l.starts_with(&format!(
                        "content/pages/{name}.md:1:1: a page cannot be called `{name}`"
                    ))
                })
                .unwrap_or_else(|| panic!("{verb} {name}: no positioned error:\n{}", run.stderr));
            assert!(line.contains("clashes with"), "{line}");
        }
        assert_eq!(tree(&tmp.path().join("dist")), before, "{name}: dist must be untouched");
        std::fs::remove_file(&page).expect("remove");
    }
    let run = chalet(tmp.path(), &["check", "--themes", &themes_arg()]);
    assert_eq!(run.code, 0, "the fixture is clean again: {}", run.stderr);
}

#[test]
fn the_order_page_says_what_it_clashes_with() {
    let tmp = site_in_temp("valid/minimal");
    std::fs::write(tmp.path().join("content/pages/order.md"), "---\ntitle: Commande\n---\n").expect("write");
    let run = chalet(tmp.path(), &["check", "--themes", &themes_arg()]);
    let expected = "content/pages/order.md:1:1: a page cannot be called `order`: its address `order/` clashes with the order confirmation page";
    assert!(run.stderr.lines().any(|l| l.starts_with(expected)), "{}", run.stderr);
}

/// Two chalets claiming one output: slug rules make it unreachable from folders today, so the
/// detector is driven with a site where a second chalet (another folder, as an import that
/// normalises names could produce) takes the first one's slug.
#[test]
fn two_sources_writing_one_file_are_reported_at_the_second() {
    let files = chalet::load::load(&fixture("valid/minimal").join("content"), "content").expect("load");
    let mut site = chalet::validate::validate(&files).site.expect("valid");
    assert!(
        chalet::routes::collisions(&site).is_empty(),
        "a clean site has no collisions"
    );
    let mut twin = chalet::model::Chalet::clone(&site.chalets[0]);
    twin.source = "content/chalets/copie/chalet.yaml".into();
    site.chalets.push(std::sync::Arc::new(twin));
    let found = chalet::routes::collisions(&site);
    let slug = &site.chalets[0].slug;
    let first = found
        .iter()
        .find(|d| {
            d.message.contains(&format!(
                "chalet `{slug}` would be written to `chalets/{slug}/index.html`"
            ))
        })
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(
        (first.path.as_str(), first.line, first.col),
        ("content/chalets/copie/chalet.yaml", 1, 1)
    );
    let hint = first.hint.as_deref().unwrap_or("");
    assert!(
        hint.contains(&site.chalets[0].source) && hint.contains("rename one of them"),
        "{hint}"
    );
    // Its products collide too, each reported at the product's own file.
    assert!(found.iter().any(|d| d.message.starts_with("product `")), "{found:?}");
}

#[test]
fn a_page_counted_out_by_its_place_is_the_page_listed_there() {
    let files = chalet::load::load(&fixture("valid/minimal").join("content"), "content").expect("load");
    let mut site = chalet::validate::validate(&files).site.expect("valid");
    // A chalet without products between two with: runs of one page and of several.
    let mut bare = chalet::model::Chalet::clone(&site.chalets[0]);
    bare.slug = chalet_types::Slug::parse("zz-vide").expect("slug");
    bare.product_count = 0;
    site.chalets.push(std::sync::Arc::new(bare));
    site.chalets.push(site.chalets[1].clone());
    let listed = chalet::routes::pages(&site, |_| true);
    let places = chalet::routes::Places::new(&site, |_| true);
    assert!(listed.len() > site.chalets.len() + 3, "{listed:?}");
    for (p, page) in listed.iter().enumerate() {
        assert_eq!(places.get(p), *page, "place {p}");
    }
}

/// The collision check leaves a kept chalet's products out (`routes::collisions`): only a
/// product's own folder could give another page its address, so no fixed page may have the
/// shape of one (`chalets/<chalet>/<product>/`), whatever the route names become.
#[test]
fn no_fixed_page_has_the_shape_of_a_products_address() {
    use chalet_types::routes::{CHALETS, Route};
    for fixed in Route::FIXED {
        let path = fixed.path();
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        assert!(parts.len() < 3 || parts[0] != CHALETS, "{path}");
    }
}

/// Every URL-bearing attribute of a page: href, src, srcset, action, content (meta), data-*.
fn urls_in(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in [
        "href=\"",
        "src=\"",
        "srcset=\"",
        "action=\"",
        "content=\"",
        "data-catalogue=\"",
        "data-index=\"",
    ] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            let after = &rest[i + attr.len()..];
            let end = after.find('"').unwrap_or(after.len());
            let value = &after[..end];
            for part in value.split(", ") {
                let url = part.split(' ').next().unwrap_or("");
                if url.starts_with('/') || url.starts_with("http") {
                    out.push(url.replace("&amp;", "&"));
                }
            }
            rest = &after[end..];
        }
    }
    out
}

fn check_sub_path_site(base_url: &str) {
    let tmp = with_base_url(base_url);
    let run = chalet(tmp.path(), &["build", "--themes", &themes_arg()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dist = tmp.path().join("dist");
    let base = "https://x.example/marche/";
    let exists = |url: &str| -> bool {
        let path = url
            .strip_prefix("/marche/")
            .or_else(|| url.strip_prefix(base))
            .unwrap_or("");
        let path = path.split(['?', '#']).next().unwrap_or("");
        let file = if path.is_empty() || path.ends_with('/') {
            format!("{path}index.html")
        } else {
            path.to_string()
        };
        dist.join(file).is_file()
    };
    let mut pages = 0;
    for (rel, bytes) in tree(&dist) {
        if !rel.ends_with(".html") {
            continue;
        }
        pages += 1;
        let html = String::from_utf8(bytes).expect("utf8");
        let page_url = format!("{base}{}", rel.strip_suffix("index.html").unwrap_or(&rel));
        if rel != "404.html" {
            assert!(
                html.contains(&format!("<link rel=\"canonical\" href=\"{page_url}\">")),
                "{rel}: canonical must be {page_url}"
            );
            assert!(
                html.contains(&format!("<meta property=\"og:url\" content=\"{page_url}\">")),
                "{rel}: og:url must be {page_url}"
            );
        }
        for url in urls_in(&html) {
            if url.starts_with("http") {
                let ours = url.starts_with("https://x.example");
                if ours {
                    assert!(url.starts_with(base), "{rel}: {url} leaves the sub-path");
                    assert!(exists(&url), "{rel}: {url} points at nothing");
                }
                continue;
            }
            assert!(url.starts_with("/marche/"), "{rel}: {url} is outside /marche/");
            assert!(exists(&url), "{rel}: {url} points at nothing");
        }
        // The script's routes are templates under the same root.
        if let Some(at) = html.find("id=\"chalet-config\">") {
            let json = &html[at + 19..];
            let json = &json[..json.find("</script>").expect("end")];
            let cfg: serde_json::Value = serde_json::from_str(json).expect("config");
            for key in ["chalet", "product", "basket", "order", "catalogue", "search_index"] {
                let v = cfg["routes"][key].as_str().expect("route");
                assert!(v.starts_with("/marche/"), "{rel}: routes.{key} = {v}");
            }
        }
    }
    assert!(pages > 10, "{pages} pages checked");
    let sitemap = read(&dist.join("sitemap.xml"));
    let locs: Vec<&str> = sitemap
        .split("<loc>")
        .skip(1)
        .map(|l| &l[..l.find("</loc>").expect("loc")])
        .collect();
    assert!(!locs.is_empty());
    for loc in &locs {
        assert!(loc.starts_with(base) && exists(loc), "sitemap: {loc}");
    }
    assert!(read(&dist.join("robots.txt")).contains(&format!("Sitemap: {base}sitemap.xml")));
    let catalogue: serde_json::Value = serde_json::from_str(&read(&dist.join("catalogue.json"))).expect("json");
    assert_eq!(catalogue["market"]["base_url"], base);
    for item in catalogue["items"].as_array().expect("items") {
        let url = item["url"].as_str().expect("url");
        assert!(url.starts_with(base) && exists(url), "catalogue: {url}");
    }
    let search: serde_json::Value = serde_json::from_str(&read(&dist.join("search.json"))).expect("json");
    for entry in search.as_array().expect("entries") {
        let url = entry["u"].as_str().expect("u");
        assert!(url.starts_with("/marche/") && exists(url), "search index: {url}");
    }
}

/// Regression: `https://x.example/marche` once gave `…/marchechalets/…` canonicals.
#[test]
fn a_sub_path_base_url_reaches_every_url_without_a_trailing_slash() {
    check_sub_path_site("https://x.example/marche");
}

#[test]
fn a_sub_path_base_url_reaches_every_url_with_a_trailing_slash() {
    check_sub_path_site("https://x.example/marche/");
}

#[test]
fn a_base_url_that_could_leave_its_host_is_refused() {
    for bad in [
        "https://marche.example/\\\\evil.example/",
        "//evil.example/",
        "https://marche.example//evil.example/",
    ] {
        let tmp = with_base_url(bad);
        let run = chalet(tmp.path(), &["check", "--themes", &themes_arg()]);
        assert_eq!(run.code, 1, "{bad}: {}", run.stderr);
        assert!(
            run.stderr.contains("content/market.yaml:3:11: base_url"),
            "{bad}: {}",
            run.stderr
        );
    }
}

/// No template or script spells a site path: they come from `routes` through `urls.*` and the
/// script's configuration.
#[test]
fn the_theme_spells_no_site_path() {
    let forbidden = [
        "chalets/",
        "categories/",
        "basket/",
        "search/",
        "order/",
        "sponsors/",
        "exposer/",
        "catalogue.json",
        "search.json",
        "'/checkout",
        "'/availability",
        "/orders/",
        "'session_id'",
    ];
    let theme = themes().join("default");
    let mut checked = 0;
    for (rel, bytes) in tree(&theme) {
        if !(rel.ends_with(".html") || rel.ends_with(".js")) {
            continue;
        }
        checked += 1;
        let text = String::from_utf8(bytes).expect("utf8");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") || code.starts_with("*") || code.starts_with("/*") || code.starts_with("{#") {
                continue;
            }
            for word in forbidden {
                assert!(
                    !line.contains(word),
                    "{}:{}: spells `{word}` by hand: {line}",
                    Path::new("themes/default").join(&rel).display(),
                    n + 1
                );
            }
        }
    }
    assert!(checked >= 12, "{checked} files checked");
}

/// Every error code and stock state the script reacts to exists in the generated lists.
#[test]
fn the_script_reads_only_codes_and_states_that_exist() {
    let js = read(&themes().join("default/static/market.js"));
    let mut seen = 0;
    for (prefix, known) in [
        (
            "E.",
            chalet_types::ErrorCode::ALL
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
        ),
        ("A.", chalet_types::Availability::ALL.iter().map(|a| a.wire()).collect()),
    ] {
        for (i, _) in js.match_indices(prefix) {
            if js[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let name: String = js[i + 2..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if name.is_empty() {
                continue;
            }
            seen += 1;
            assert!(
                known.contains(&name.as_str()),
                "market.js uses {prefix}{name}, which does not exist"
            );
        }
    }
    assert!(seen >= 6, "{seen} uses found");
}
