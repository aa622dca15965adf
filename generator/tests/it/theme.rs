//! The default theme's contract with the generator: every language complete, a missing string
//! warned about and shown in French, the data blocks (JSON-LD, script configuration, search
//! index) well-formed, and `--checkout-url` reaching the pages.

use crate::common::{chalet, read, site_in_temp, themes};
use std::path::Path;

fn build(dir: &Path, extra: &[&str]) -> crate::common::Run {
    let themes = themes();
    let mut args = vec!["build", "--themes", themes.to_str().expect("utf8")];
    args.extend_from_slice(extra);
    chalet(dir, &args)
}

fn set_language(dir: &Path, lang: &str) {
    let path = dir.join("content/market.yaml");
    let yaml = read(&path).replace("language: fr", &format!("language: {lang}"));
    std::fs::write(path, yaml).expect("write market.yaml");
}

/// The JSON inside `<script type="…" …>` … `</script>` on a page.
fn script_json(html: &str, opening: &str) -> serde_json::Value {
    let start = html.find(opening).unwrap_or_else(|| panic!("no {opening}")) + opening.len();
    let end = start + html[start..].find("</script>").expect("closing tag");
    serde_json::from_str(&html[start..end]).expect("valid JSON")
}

#[test]
fn every_language_builds_without_warnings_and_translates_the_page() {
    for (lang, basket) in [
        ("fr", "Panier"),
        ("nl", "Mandje"),
        ("de", "Warenkorb"),
        ("en", "Basket"),
    ] {
        let tmp = site_in_temp("valid/minimal");
        set_language(tmp.path(), lang);
        let run = build(tmp.path(), &[]);
        assert_eq!(run.code, 0, "{lang}: {}", run.stderr);
        assert!(!run.stderr.contains("UI strings"), "{lang}: {}", run.stderr);
        assert!(!run.stderr.contains("translation"), "{lang}: {}", run.stderr);
        let home = read(&tmp.path().join("dist/index.html"));
        assert!(home.contains(&format!("<html lang=\"{lang}\">")), "{lang}");
        assert!(
            home.contains(&format!("{basket} <span")),
            "{lang}: basket link translated"
        );
    }
}

#[test]
fn a_missing_translation_is_a_warning_and_falls_back_to_french() {
    let tmp = site_in_temp("valid/minimal");
    set_language(tmp.path(), "de");
    let own_themes = tmp.path().join("themes");
    crate::common::copy_dir(&themes(), &own_themes);
    let de = own_themes.join("default/i18n/de.yaml");
    let without: String = read(&de)
        .lines()
        .filter(|l| !l.starts_with("add_to_basket:"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&de, without).expect("write de.yaml");

    let check = chalet(tmp.path(), &["check", "--themes", own_themes.to_str().expect("utf8")]);
    assert_eq!(check.code, 0, "a warning does not fail the check: {}", check.stderr);
    assert!(
        check.stderr.contains("de.yaml:1:1: warning") && check.stderr.contains("add_to_basket"),
        "{}",
        check.stderr
    );
    let run = chalet(tmp.path(), &["build", "--themes", own_themes.to_str().expect("utf8")]);
    assert_eq!(run.code, 0);
    let product = read(&tmp.path().join("dist/chalets/cire-et-meche/bougie-sapin/index.html"));
    assert!(product.contains(">Ajouter au panier</button>"), "French, never blank");
    assert!(product.contains("Menge"), "the other strings stay German");
}

#[test]
fn product_pages_carry_schema_org_and_open_graph_data() {
    let tmp = site_in_temp("valid/minimal");
    assert_eq!(build(tmp.path(), &[]).code, 0);
    let html = read(&tmp.path().join("dist/chalets/cire-et-meche/bougie-sapin/index.html"));
    let ld = script_json(&html, "<script type=\"application/ld+json\">");
    assert_eq!(ld["@type"], "Product");
    assert_eq!(ld["offers"]["price"], "14.90");
    assert_eq!(ld["offers"]["priceCurrency"], "EUR");
    assert_eq!(ld["offers"]["availability"], "https://schema.org/LimitedAvailability");
    assert_eq!(
        ld["offers"]["url"],
        "https://petit-marche.example/chalets/cire-et-meche/bougie-sapin/"
    );
    let image = ld["image"][0].as_str().expect("image URL");
    assert!(image.starts_with("https://petit-marche.example/images/"), "{image}");
    assert!(html.contains(&format!("<meta property=\"og:image\" content=\"{image}\">")));
    assert!(html.contains("<meta property=\"og:type\" content=\"product\">"));
    assert!(html.contains(
        "<link rel=\"canonical\" href=\"https://petit-marche.example/chalets/cire-et-meche/bougie-sapin/\">"
    ));
    // The price as shoppers read it, in French.
    assert!(html.contains("14,90\u{a0}€"));
}

#[test]
fn data_blocks_cannot_close_their_script_element() {
    let tmp = site_in_temp("valid/minimal");
    let path = tmp
        .path()
        .join("content/chalets/cire-et-meche/products/bougie-sapin.md");
    let md = read(&path).replacen("name: \"", "name: \"</script><script>alert(1)</script> ", 1);
    std::fs::write(&path, md).expect("write product");
    let run = build(tmp.path(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = read(&tmp.path().join("dist/chalets/cire-et-meche/bougie-sapin/index.html"));
    assert!(!html.contains("<script>alert(1)"), "the name must not open a script");
    let ld = script_json(&html, "<script type=\"application/ld+json\">");
    assert!(
        ld["name"]
            .as_str()
            .expect("name")
            .starts_with("</script><script>alert(1)")
    );
}

#[test]
fn the_script_config_and_search_index_describe_the_market() {
    let tmp = site_in_temp("valid/minimal");
    let run = build(tmp.path(), &["--checkout-url", "http://127.0.0.1:9000/"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let basket = read(&tmp.path().join("dist/basket/index.html"));
    let order = read(&tmp.path().join("dist/order/index.html"));
    assert!(
        order.contains("<meta name=\"robots\" content=\"noindex\">"),
        "an order page is private"
    );
    assert!(basket.contains("<noscript>"), "the basket says it needs JavaScript");
    let cfg = script_json(&basket, "<script type=\"application/json\" id=\"chalet-config\">");
    assert_eq!(
        cfg["checkout"], "http://127.0.0.1:9000",
        "flag wins, trailing slash dropped"
    );
    assert_eq!(cfg["lang"], "fr");
    assert_eq!(cfg["root"], "/");
    assert_eq!(cfg["max_quantity"], chalet_types::MAX_QUANTITY, "the function's bound");
    assert_eq!(cfg["low_stock"], chalet_types::LOW_STOCK);
    assert_eq!(
        cfg["t"]["pay"], "Payer",
        "js_ strings reach the script without their prefix"
    );

    let index_text = read(&tmp.path().join("dist/search.json"));
    let index: serde_json::Value = serde_json::from_str(&index_text).expect("search.json");
    // Compact, each entry's keys in order: the file is its own value written again.
    assert_eq!(index_text, serde_json::to_string(&index).expect("json"));
    let entries = index.as_array().expect("array");
    let sapin = entries
        .iter()
        .find(|e| e["u"] == "/chalets/cire-et-meche/bougie-sapin/")
        .expect("the product is indexed");
    assert!(sapin["n"].as_str().expect("name").contains("Sapin"));
    assert!(
        sapin["k"].as_str().expect("keywords").contains("Bougies"),
        "category searchable"
    );
    assert!(
        entries.iter().any(|e| e["u"] == "/chalets/cire-et-meche/"),
        "chalets too"
    );

    let sitemap = read(&tmp.path().join("dist/sitemap.xml"));
    assert!(!sitemap.contains("/basket/") && !sitemap.contains("/order/") && !sitemap.contains("/search/"));
}

#[test]
fn a_checkout_url_that_is_not_absolute_is_refused() {
    let tmp = site_in_temp("valid/minimal");
    let run = build(tmp.path(), &["--checkout-url", "api"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("/api or an absolute URL"), "{}", run.stderr);
    assert!(!tmp.path().join("dist").exists());
}

/// Deployed, the function lives at `/api` on the site's own host; a build for a stack takes
/// that and the stack's address from the command line.
#[test]
fn a_same_host_checkout_path_and_a_base_url_override_reach_the_pages() {
    let tmp = site_in_temp("valid/minimal");
    let run = build(
        tmp.path(),
        &[
            "--checkout-url",
            "/api",
            "--base-url",
            "https://d111111abcdef8.cloudfront.net",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let home = read(&tmp.path().join("dist/index.html"));
    assert!(
        home.contains("\"checkout\":\"/api\""),
        "the script calls /api on its own host"
    );
    assert!(home.contains("<link rel=\"canonical\" href=\"https://d111111abcdef8.cloudfront.net/\">"));
    let catalogue = read(&tmp.path().join("dist/catalogue.json"));
    assert!(catalogue.contains("\"base_url\": \"https://d111111abcdef8.cloudfront.net/\""));
    for bad in [
        ["--checkout-url", "//evil.example/api"],
        ["--base-url", "https://x.example//evil/"],
    ] {
        let run = build(tmp.path(), &bad);
        assert_eq!(run.code, 2, "{bad:?}: {}", run.stderr);
    }
}

/// The dev server sends the production CSP: the same text as CloudFront's response headers
/// policy in the infrastructure template, which also lets the form upload to the applications
/// bucket (the address checkout-fn's own test holds to the one it presigns).
#[test]
fn the_preview_and_production_share_one_csp() {
    let template = read(&crate::common::repo().join("infra/template.yaml"));
    let t: serde_json::Value = serde_saphyr::from_str(&template).expect("plain YAML");
    let csp = t["Resources"]["SecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        ["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
        .as_str()
        .expect("a CSP");
    let ours = chalet::mime::SITE_CSP.replace(
        "connect-src 'self'",
        "connect-src 'self' https://${ApplicationsBucket}.s3.${AWS::Region}.amazonaws.com",
    );
    assert_eq!(
        csp.split_whitespace().collect::<Vec<_>>(),
        ours.split_whitespace().collect::<Vec<_>>()
    );
}
