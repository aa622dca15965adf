//! What the law asks the market to show, from the content to the pages: who sells (KBO/BCE
//! numbers checked), the private-seller notice, the right of withdrawal per product, unit prices
//! for food, the fourteen allergens and a voucher's validity.

use crate::common::{chalet, read, site_in_temp, themes};
use std::path::Path;

fn build(dir: &Path) -> crate::common::Run {
    chalet(dir, &["build", "--themes", themes().to_str().expect("utf8")])
}

fn edit(dir: &Path, rel: &str, from: &str, to: &str) {
    let path = dir.join("content").join(rel);
    let text = read(&path);
    assert!(text.contains(from), "{rel} has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

const CIRE: &str = "chalets/cire-et-meche/chalet.yaml";
const BONS: &str = "chalets/bons-du-carre/chalet.yaml";
const FONDANTS: &str = "chalets/cire-et-meche/products/fondants.md";

/// The fixture's fondants sold as food, with these front matter lines.
fn fondants_as_food(dir: &Path, fields: &str) {
    edit(
        dir,
        FONDANTS,
        "price: \"6,90\"",
        &format!("price: \"6,90\"\nkind: food\n{fields}"),
    );
}

/// The diagnostic line that says `what`.
fn line_with<'a>(run: &'a crate::common::Run, what: &str) -> &'a str {
    run.stderr
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no `{what}` in:\n{}", run.stderr))
}

#[test]
fn a_wrong_enterprise_number_is_refused_with_its_right_check_digits() {
    let tmp = site_in_temp("valid/minimal");
    edit(tmp.path(), BONS, "0634.112.754", "0634.112.745");
    let run = build(tmp.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = line_with(&run, "is not a valid enterprise number");
    assert!(
        line.starts_with("content/chalets/bons-du-carre/chalet.yaml:5:"),
        "{line}"
    );
    assert!(run.stderr.contains("the last two are 54"), "{}", run.stderr);
    // A trader without a number, and a private seller with one, are refused too.
    let tmp = site_in_temp("valid/minimal");
    edit(tmp.path(), BONS, "enterprise_number: \"0634.112.754\", ", "");
    assert!(
        build(tmp.path())
            .stderr
            .contains("a trader must give its enterprise number")
    );
    edit(
        tmp.path(),
        BONS,
        "trader: {",
        "trader: { kind: private, enterprise_number: \"0634.112.754\",",
    );
    assert!(
        build(tmp.path())
            .stderr
            .contains("a private seller has no enterprise number")
    );
}

#[test]
fn pages_show_the_seller_the_withdrawal_right_unit_prices_and_allergens() {
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    fondants_as_food(
        dir,
        "net_quantity: \"250 g\"\nperishable: true\nallergens: [Lait, oeufs]",
    );
    edit(
        dir,
        "chalets/cire-et-meche/products/bougie-sapin.md",
        "stock: 2",
        "stock: 2\npersonalisation: \"Prénom à graver\"",
    );
    let run = build(dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Only the fixture's small cover warns: the legal fields are complete.
    assert!(run.stderr.contains("0 errors, 1 warning"), "{}", run.stderr);
    let page = |rel: &str| read(&dir.join("dist").join(rel).join("index.html"));
    let cire = page("chalets/cire-et-meche");
    assert!(cire.contains("N° d&#39;entreprise 0789.331.263") && !cire.contains("data-private-seller"));

    let fondants = page("chalets/cire-et-meche/fondants");
    assert!(
        fondants.contains("data-unit-price>27,60\u{a0}€/kg<"),
        "6,90 € for 250 g"
    );
    assert!(fondants.contains(r#"data-withdrawal="no_withdrawal_perishable">Pas de droit de rétractation"#));
    assert!(fondants.contains(r#"<strong class="allergen">lait</strong>, <strong class="allergen">œufs</strong>"#));
    let candle = page("chalets/cire-et-meche/bougie-sapin");
    assert!(candle.contains(r#"data-withdrawal="no_withdrawal_personalised""#));
    let menu = page("chalets/bons-du-carre/menu-pour-deux");
    assert!(menu.contains(r#"data-withdrawal="withdrawal_14_days">Droit de rétractation : 14 jours"#));

    // The same chalet run by a private person: the Omnibus notice, and no right on anything.
    edit(dir, CIRE, "enterprise_number: \"BE 0789.331.263\", ", "kind: private, ");
    assert_eq!(build(dir).code, 0);
    assert!(page("chalets/cire-et-meche").contains("data-private-seller>Ce vendeur est un particulier"));
    for product in ["fondants", "bougie-sapin"] {
        let html = page(&format!("chalets/cire-et-meche/{product}"));
        assert!(
            html.contains(r#"data-withdrawal="no_withdrawal_private_seller">Pas de droit de rétractation : vendu par un particulier"#),
            "{product}"
        );
    }
}

#[test]
fn unknown_allergens_short_vouchers_and_food_without_quantity_are_reported() {
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    fondants_as_food(dir, "allergens: [laitt]");
    edit(
        dir,
        "chalets/bons-du-carre/products/menu-pour-deux.md",
        "valid_until: 2027-12-31",
        "valid_until: 2027-05-27",
    );
    let run = build(dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("`laitt` is not one of the fourteen allergens"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("did you mean `lait`?"), "{}", run.stderr);
    assert!(run.stderr.contains("food without its net quantity"), "{}", run.stderr);
    let short = line_with(&run, "valid for less than twelve months");
    assert!(
        short.starts_with("content/chalets/bons-du-carre/products/menu-pour-deux.md:"),
        "{short}"
    );
    assert!(short.contains("warning"), "{short}");
}

/// The marketplace, accessibility and withdrawal pages exist in every language, linked from every
/// page's footer, with the organiser's contact, every seller, and the model withdrawal form.
#[test]
fn the_legal_pages_are_built_in_every_language_and_linked_from_every_page() {
    for (lang, form, a11y) in [
        ("fr", "Je/Nous (*) vous notifie", "Déclaration d&#39;accessibilité"),
        (
            "nl",
            "Ik/Wij (*) deel/delen (*) u hierbij mede",
            "Toegankelijkheidsverklaring",
        ),
        (
            "de",
            "Hiermit widerrufe(n) ich/wir (*)",
            "Erklärung zur Barrierefreiheit",
        ),
        ("en", "I/We (*) hereby give notice", "Accessibility statement"),
    ] {
        let tmp = site_in_temp("valid/minimal");
        let dir = tmp.path();
        let yaml = read(&dir.join("content/market.yaml")).replace("language: fr", &format!("language: {lang}"));
        std::fs::write(dir.join("content/market.yaml"), yaml).expect("write");
        let run = build(dir);
        assert_eq!(run.code, 0, "{lang}: {}", run.stderr);
        assert!(!run.stderr.contains("UI strings"), "{lang}: {}", run.stderr);
        let page = |rel: &str| read(&dir.join("dist").join(rel).join("index.html"));
        let withdrawal = page("withdrawal");
        assert!(
            withdrawal.contains("data-withdrawal-form") && withdrawal.contains(form),
            "{lang}"
        );
        let accessibility = page("accessibility");
        assert!(accessibility.contains(a11y), "{lang}");
        assert!(
            accessibility.contains(r#"<a href="mailto:comite@petit-marche.example" data-a11y-contact>"#),
            "{lang}"
        );
        let marketplace = page("marketplace");
        for seller in ["Les Bons du Carré SRL", "Anaïs Dethier", "mailto:anais@example.org"] {
            assert!(marketplace.contains(seller), "{lang}: {seller}");
        }
        for rel in ["", "chalets/cire-et-meche", "chalets/cire-et-meche/fondants"] {
            let html = page(rel);
            for link in ["/marketplace/", "/withdrawal/", "/accessibility/"] {
                assert!(
                    html.contains(&format!(r#"href="{link}""#)),
                    "{lang} /{rel} lacks {link}"
                );
            }
        }
    }
}
