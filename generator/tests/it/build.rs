//! The generator end to end: the example market, valid fixtures snapshotted page by page, and
//! the guarantees around failed builds.

use crate::common::*;

#[test]
fn example_market_builds_without_warnings() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("dist");
    let repo = repo();
    let run = chalet(&repo, &["build", "--out", out.to_str().expect("utf8")]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    assert_eq!(run.stderr, "", "the example market must be free of warnings");
    assert!(run.stdout.starts_with("12 chalets, 46 products,"), "{}", run.stdout);
    for page in [
        "index.html",
        "404.html",
        "sitemap.xml",
        "robots.txt",
        "catalogue.json",
        "sponsors/index.html",
    ] {
        assert!(out.join(page).is_file(), "{page} missing");
    }
    let cat: chalet_types::Catalogue =
        serde_json::from_str(&read(&out.join("catalogue.json"))).expect("catalogue parses");
    assert_eq!(cat.items.len(), 46);
    assert!(
        cat.items.windows(2).all(|w| w[0].sku < w[1].sku),
        "catalogue sorted by SKU"
    );
    assert_eq!(
        cat.market.registration_fee,
        Some(chalet_types::Money::from_cents(10_000))
    );

    // The artisans' page carries the application form, its checker under a hashed name, and
    // the kit it checks and previews with.
    let page = read(&out.join("exposer/index.html"));
    assert!(page.contains(r#"<form id="apply""#) && page.contains(r#"data-kit="/exposer/kit.json""#));
    let wasm = page
        .split(r#"data-wasm="/"#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the checker's address");
    assert!(
        wasm.starts_with("assets/form/chalet-form.") && wasm.ends_with(".wasm"),
        "{wasm}"
    );
    assert_eq!(
        std::fs::read(out.join(wasm)).expect("checker published"),
        std::fs::read(repo.join("themes/default/static/form/chalet-form.wasm")).expect("checker")
    );
    let kit: chalet::apply::Kit = serde_json::from_str(&read(&out.join("exposer/kit.json"))).expect("kit");
    assert_eq!(kit.market, read(&repo.join("content/market.yaml")));
    assert!(kit.templates.contains_key("chalet.html") && kit.templates.contains_key("base.html"));
    // The theme's files by where they are published, not their bytes: the preview names the
    // site's own stylesheet.
    let style = &kit.assets["style.css"];
    assert!(out.join(style).is_file(), "{style}");
    assert!(read(&out.join("index.html")).contains(&format!("/{style}")));
    assert_eq!(
        kit.images.keys().collect::<Vec<_>>(),
        ["sponsors/banque.png", "sponsors/commerces.png", "sponsors/radio.png"]
    );
    // No other page has the form.
    assert!(!read(&out.join("faq/index.html")).contains(r#"id="apply""#));
}

#[test]
fn minimal_market_pages_match_snapshots() {
    let tmp = site_in_temp("valid/minimal");
    let run = chalet(tmp.path(), &["build", "--themes", themes().to_str().expect("utf8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dist = tmp.path().join("dist");
    for (name, page) in [
        ("home", "index.html"),
        ("chalet", "chalets/cire-et-meche/index.html"),
        ("product", "chalets/cire-et-meche/bougie-sapin/index.html"),
        ("voucher", "chalets/bons-du-carre/menu-pour-deux/index.html"),
        ("category", "categories/bougies/index.html"),
        ("sponsors", "sponsors/index.html"),
        ("catalogue", "catalogue.json"),
        ("sitemap", "sitemap.xml"),
    ] {
        insta::assert_snapshot!(
            format!("minimal_{name}"),
            without_asset_hashes(&dist, &read(&dist.join(page)))
        );
    }
}

/// `/assets/style.0a1b2c3d4e.css` → `/assets/style.[hash].css`, once the file is known to exist:
/// the snapshots are about the pages, and should not change with every edit of the theme's CSS.
fn without_asset_hashes(dist: &std::path::Path, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("/assets/") {
        let (before, after) = rest.split_at(at + "/assets/".len());
        out.push_str(before);
        let end = after.find(['"', ' ', ')']).unwrap_or(after.len());
        let name = &after[..end];
        assert!(dist.join("assets").join(name).is_file(), "{name} is linked but missing");
        let parts: Vec<&str> = name.split('.').collect();
        match parts.as_slice() {
            [stem, hash, ext] if hash.len() == 10 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
                out.push_str(&format!("{stem}.[hash].{ext}"));
            }
            _ => out.push_str(name),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn artisan_markdown_is_sanitised() {
    let tmp = site_in_temp("valid/minimal");
    assert_eq!(
        chalet(tmp.path(), &["build", "--themes", themes().to_str().expect("utf8")]).code,
        0
    );
    let html = read(&tmp.path().join("dist/chalets/cire-et-meche/index.html"));
    for bad in ["<script>alert", "javascript:", "onclick", "steal()"] {
        assert!(!html.contains(bad), "`{bad}` survived sanitising");
    }
    assert!(html.contains("un lien piégé"), "the link text itself is kept");
}

#[test]
fn prices_are_exact_cents_from_every_spelling() {
    let tmp = site_in_temp("valid/minimal");
    assert_eq!(
        chalet(tmp.path(), &["build", "--themes", themes().to_str().expect("utf8")]).code,
        0
    );
    let cat: chalet_types::Catalogue =
        serde_json::from_str(&read(&tmp.path().join("dist/catalogue.json"))).expect("json");
    let price = |sku: &str| {
        cat.items
            .iter()
            .find(|i| i.sku.to_string() == sku)
            .map(|i| i.price.cents())
    };
    assert_eq!(price("cire-et-meche/bougie-sapin"), Some(1490), "YAML number 14.90");
    assert_eq!(price("cire-et-meche/fondants"), Some(690), "\"6,90\" with a comma");
    assert_eq!(
        price("bons-du-carre/menu-pour-deux"),
        Some(5500),
        "\"55\" without decimals"
    );
}

#[test]
fn builds_are_byte_identical() {
    // Incremental rebuilds will be checked against clean builds: the output must be deterministic.
    let tmp = site_in_temp("valid/minimal");
    let themes = themes();
    let t = themes.to_str().expect("utf8");
    assert_eq!(chalet(tmp.path(), &["build", "--themes", t, "--out", "a"]).code, 0);
    assert_eq!(chalet(tmp.path(), &["build", "--themes", t, "--out", "b"]).code, 0);
    let (a, b) = (tree(&tmp.path().join("a")), tree(&tmp.path().join("b")));
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn a_failed_build_leaves_the_previous_site_untouched() {
    let tmp = site_in_temp("valid/minimal");
    let t = themes();
    let t = t.to_str().expect("utf8");
    assert_eq!(chalet(tmp.path(), &["build", "--themes", t]).code, 0);
    let before = tree(&tmp.path().join("dist"));
    let product = tmp.path().join("content/chalets/cire-et-meche/products/fondants.md");
    std::fs::write(&product, "---\nname: Fondants\nprice: \"six euros\"\n---\n").expect("write");
    let run = chalet(tmp.path(), &["build", "--themes", t]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("content/chalets/cire-et-meche/products/fondants.md:3:8: price `six euros`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        tree(&tmp.path().join("dist")),
        before,
        "dist/ changed after a failed build"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("ls")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tmp-build"))
        .collect();
    assert!(leftovers.is_empty(), "staging folder left behind");
}

#[test]
fn check_validates_but_writes_nothing() {
    let tmp = site_in_temp("valid/minimal");
    let run = chalet(tmp.path(), &["check", "--themes", themes().to_str().expect("utf8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("2 chalets, 3 products"), "{}", run.stdout);
    assert!(!tmp.path().join("dist").exists());
}

#[test]
fn new_chalet_passes_check_and_refuses_bad_slugs() {
    let tmp = site_in_temp("valid/minimal");
    let run = chalet(tmp.path(), &["new", "la-forge-d-or"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        tmp.path()
            .join("content/chalets/la-forge-d-or/products/mon-premier-produit.md")
            .is_file()
    );
    let check = chalet(tmp.path(), &["check", "--themes", themes().to_str().expect("utf8")]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(
        !check.stderr.contains("la-forge-d-or"),
        "a new chalet must not even warn:\n{}",
        check.stderr
    );
    assert!(check.stdout.contains("3 chalets, 4 products"), "{}", check.stdout);

    let bad = chalet(tmp.path(), &["new", "La Forge d'Or"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("try `la-forge-d-or`"), "{}", bad.stderr);
    let again = chalet(tmp.path(), &["new", "la-forge-d-or"]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let tmp = tempfile::tempdir().expect("tmp");
    let missing = chalet(tmp.path(), &["build", "--content", "nope"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("nope"),
        "the error names the path: {}",
        missing.stderr
    );
    assert_eq!(chalet(tmp.path(), &["frobnicate"]).code, 2);
}

#[test]
fn templates_in_content_override_the_theme() {
    let tmp = site_in_temp("valid/minimal");
    let overrides = tmp.path().join("content/templates");
    std::fs::create_dir_all(&overrides).expect("mkdir");
    std::fs::write(
        overrides.join("404.html"),
        "{% extends \"base.html\" %}{% block main %}<p>Perdu dans les chalets</p>{% endblock main %}",
    )
    .expect("write");
    assert_eq!(
        chalet(tmp.path(), &["build", "--themes", themes().to_str().expect("utf8")]).code,
        0
    );
    assert!(read(&tmp.path().join("dist/404.html")).contains("Perdu dans les chalets"));
    assert!(
        read(&tmp.path().join("dist/index.html")).contains("Petit marché"),
        "other templates still come from the theme"
    );
}

/// `shipping_countries` and `collect_phone` reach the catalogue the checkout function reads;
/// a code that is not one is refused at its position.
#[test]
fn shipping_countries_and_phone_collection_reach_the_catalogue() {
    let tmp = site_in_temp("valid/minimal");
    let market = tmp.path().join("content/market.yaml");
    let themes = themes().to_str().expect("utf8").to_string();
    // Builds and returns what the catalogue's market says about shipping and phones.
    let built = || {
        let run = chalet(tmp.path(), &["build", "--themes", &themes]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let catalogue: serde_json::Value =
            serde_json::from_str(&read(&tmp.path().join("dist/catalogue.json"))).expect("json");
        (
            catalogue["market"]["shipping_countries"].clone(),
            catalogue["market"]["collect_phone"].clone(),
        )
    };
    assert_eq!(
        built(),
        (
            serde_json::json!(["BE", "NL", "LU", "FR", "DE"]),
            serde_json::json!(true)
        )
    );

    let text = read(&market);
    std::fs::write(
        &market,
        format!("{text}\nshipping_countries: [BE, FR]\ncollect_phone: false\n"),
    )
    .expect("write");
    assert_eq!(built(), (serde_json::json!(["BE", "FR"]), serde_json::json!(false)));

    std::fs::write(&market, format!("{text}\nshipping_countries: [BE, belgique]\n")).expect("write");
    let run = chalet(tmp.path(), &["check", "--themes", &themes]);
    assert_ne!(run.code, 0);
    let line = text.lines().count() + 2;
    assert!(
        run.stderr.contains(&format!(
            "content/market.yaml:{line}:26: `belgique` is not a country code"
        )),
        "{}",
        run.stderr
    );
}

/// `commission_percent` and a chalet's `payouts: { stripe_account }` reach the catalogue the
/// checkout function reads (and no page); malformed ones are refused at their position.
#[test]
fn commission_and_connected_accounts_reach_the_catalogue_only() {
    let tmp = site_in_temp("valid/minimal");
    let market = tmp.path().join("content/market.yaml");
    let chalet_yaml = tmp.path().join("content/chalets/cire-et-meche/chalet.yaml");
    let themes = themes().to_str().expect("utf8").to_string();
    let (market_text, chalet_text) = (read(&market), read(&chalet_yaml));
    std::fs::write(&market, format!("{market_text}\ncommission_percent: 2.5\n")).expect("write");
    std::fs::write(
        &chalet_yaml,
        format!("{chalet_text}payouts: {{ stripe_account: acct_1PgafTB7WZ01zgkW }}\n"),
    )
    .expect("write");
    let run = chalet(tmp.path(), &["build", "--themes", &themes]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let catalogue: serde_json::Value =
        serde_json::from_str(&read(&tmp.path().join("dist/catalogue.json"))).expect("json");
    assert_eq!(catalogue["market"]["commission_bp"], 250);
    for item in catalogue["items"].as_array().expect("items") {
        let expected = (item["chalet"] == "cire-et-meche").then_some("acct_1PgafTB7WZ01zgkW");
        assert_eq!(item["stripe_account"].as_str(), expected, "{item}");
    }
    let page = read(&tmp.path().join("dist/chalets/cire-et-meche/index.html"));
    assert!(!page.contains("acct_"), "the account is the function's, not the page's");

    std::fs::write(&market, format!("{market_text}\ncommission_percent: 120\n")).expect("write");
    std::fs::write(
        &chalet_yaml,
        format!("{chalet_text}payouts: {{ stripe_account: cus_123 }}\n"),
    )
    .expect("write");
    let run = chalet(tmp.path(), &["check", "--themes", &themes]);
    assert_ne!(run.code, 0);
    let (m, c) = (market_text.lines().count() + 2, chalet_text.lines().count() + 1);
    for expected in [
        format!("content/market.yaml:{m}:21: commission_percent `120` is not a percentage from 0 to 100"),
        format!("content/chalets/cire-et-meche/chalet.yaml:{c}:28: `cus_123` is not a Stripe account id"),
    ] {
        assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
    }
}

/// `contact: { daily_digest: true }` travels to the catalogue (the function reads it from there);
/// without an address to go to, or not a yes/no, it is an error at its place.
#[test]
fn a_daily_digest_asked_for_reaches_the_catalogue() {
    let tmp = site_in_temp("valid/minimal");
    let chalet_yaml = tmp.path().join("content/chalets/cire-et-meche/chalet.yaml");
    let themes = themes().to_str().expect("utf8").to_string();
    let text = read(&chalet_yaml);
    let with = |contact: &str| {
        text.replace(
            r#"contact: { email: "anais@example.org", website: "https://cire.example" }"#,
            contact,
        )
    };
    std::fs::write(
        &chalet_yaml,
        with(r#"contact: { email: "anais@example.org", daily_digest: true }"#),
    )
    .expect("write");
    let run = chalet(tmp.path(), &["build", "--themes", &themes]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let catalogue: serde_json::Value =
        serde_json::from_str(&read(&tmp.path().join("dist/catalogue.json"))).expect("json");
    let items = catalogue["items"].as_array().expect("items");
    assert!(!items.is_empty());
    for item in items {
        assert_eq!(
            item["chalet_digest"] == true,
            item["chalet"] == "cire-et-meche",
            "{item}"
        );
    }
    for key in ["digest_subject", "digest_intro", "digest_sold", "digest_waiting"] {
        assert!(
            catalogue["market"]["mail"][key].is_string(),
            "the digest's words travel: {key}"
        );
    }

    let line = text.lines().position(|l| l.starts_with("contact:")).expect("contact") + 1;
    for (contact, expected) in [
        (
            r#"contact: { daily_digest: true }"#,
            format!("chalet.yaml:{line}:26: a daily digest needs an address to go to"),
        ),
        (
            r#"contact: { email: "a@b.example", daily_digest: often }"#,
            format!("chalet.yaml:{line}:48: daily_digest is yes or no"),
        ),
    ] {
        std::fs::write(&chalet_yaml, with(contact)).expect("write");
        let run = chalet(tmp.path(), &["check", "--themes", &themes]);
        assert_ne!(run.code, 0, "{contact}");
        assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
    }
}
