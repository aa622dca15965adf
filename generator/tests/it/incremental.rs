//! Incremental builds give the bytes a clean build gives: a scripted sequence of edits, each
//! followed by an incremental build of one output folder and a clean build of another, compared
//! file by file (the manifest included).

use crate::common::*;
use std::path::Path;

/// Builds `dist` incrementally, then `clean` from nothing (its own empty cache); both must
/// succeed and be identical. Returns how many pages the incremental build rendered.
fn build_both(dir: &Path, step: &str) -> usize {
    build_counting(dir, step).0
}

/// [`build_both`], with how many chalets the incremental build validated (not taken from the
/// last build).
fn build_counting(dir: &Path, step: &str) -> (usize, usize) {
    let summary = build_summary(dir, step);
    let count =
        |what: &str| number_before(&summary, what).unwrap_or_else(|| panic!("{step}: no `{what}` in {summary}"));
    (count(" rendered)"), count(" chalets validated"))
}

/// [`build_both`], with how many of the market's lists (sitemap, search index, catalogue) the
/// incremental build made again.
fn lists_made(dir: &Path, step: &str) -> usize {
    let summary = build_summary(dir, step);
    number_before(&summary, " of 3 lists made").unwrap_or_else(|| panic!("{step}: {summary}"))
}

/// [`build_both`]'s builds and comparison; the incremental build's summary line.
fn build_summary(dir: &Path, step: &str) -> String {
    // Files written in the last seconds are never trusted by their stamps (see
    // `validate::reuse`): make every edit look older, as an edit between two builds usually is.
    age(&dir.join("content"));
    let run = chalet(
        dir,
        &["build", "--content", "content", "--themes", "themes", "--out", "dist"],
    );
    assert_eq!(run.code, 0, "{step}: {}", run.stderr);
    let theirs = clean_build(dir, step);
    let ours = tree(&dir.join("dist"));
    let differ = differing(&ours, &theirs);
    assert!(
        differ.is_empty(),
        "{step}: incremental and clean builds differ in {differ:?}"
    );
    eprintln!("{step}: {}", run.stdout.trim());
    run.stdout
}

/// `… 13 pages (2 rendered) …`, ` rendered)` → 2.
fn number_before(summary: &str, what: &str) -> Option<usize> {
    let at = summary.find(what)?;
    summary[..at].rsplit(['(', ' ']).next()?.parse().ok()
}

fn rendered(summary: &str) -> Option<usize> {
    number_before(summary, " rendered)")
}

/// Sets the modification time of every file changed in the last minute an hour back from now:
/// distinct from the time it had (so a changed file still looks changed), old enough to be
/// trusted. Files older than that keep theirs.
fn age(dir: &Path) {
    let now = std::time::SystemTime::now();
    let then = now - std::time::Duration::from_secs(3600);
    for entry in walk(dir) {
        let file = std::fs::File::options().write(true).open(&entry).expect("open");
        let modified = file.metadata().and_then(|m| m.modified()).expect("time");
        if modified > now - std::time::Duration::from_secs(60) {
            file.set_modified(then).expect("set time");
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn edit(dir: &Path, rel: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let text = read(&path);
    assert!(text.contains(from), "{rel} has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

/// A copy of the chalet `from` as `to`, its name changed (`name`: from, to); its folder.
fn copy_chalet(dir: &Path, from: &str, to: &str, name: (&str, &str)) -> std::path::PathBuf {
    let folder = dir.join("content/chalets").join(to);
    copy_dir(&dir.join("content/chalets").join(from), &folder);
    edit(dir, &format!("content/chalets/{to}/chalet.yaml"), name.0, name.1);
    folder
}

const FONDANTS: &str = "content/chalets/cire-et-meche/products/fondants.md";

#[test]
fn every_kind_of_edit_rebuilds_to_the_bytes_of_a_clean_build() {
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    copy_dir(&themes(), &dir.join("themes"));
    let (all, chalets) = build_counting(dir, "first build");
    assert!(all > 10, "the first build renders every page ({all})");
    assert!(chalets >= 2, "the first build validates every chalet ({chalets})");
    assert_eq!(build_counting(dir, "nothing changed"), (0, 0));

    // One product's text: its page, its chalet's page (the product card shows no text here,
    // but the chalet page lists the product) and the pages that show it as a neighbour.
    edit(
        dir,
        FONDANTS,
        "Fait sur commande.",
        "Fait sur commande, à la cire d'abeille.",
    );
    let (one, validated) = build_counting(dir, "one product's text");
    // Nothing the lists hold changed: none is made again (the previous edit undone, the other way).
    assert_eq!(validated, 1, "only the edited chalet is validated again");
    assert!(
        (1..all / 2).contains(&one),
        "{one} of {all} pages rendered for one product's text"
    );
    assert!(
        read(&dir.join("dist/chalets/cire-et-meche/fondants/index.html")).contains("cire d&#39;abeille"),
        "the edit is on the page"
    );

    edit(
        dir,
        FONDANTS,
        "Fait sur commande, à la cire d'abeille.",
        "Fait sur commande, à la cire.",
    );
    assert_eq!(lists_made(dir, "one product's text again"), 0);

    // A price is in the search index and the catalogue, not in the sitemap.
    edit(dir, FONDANTS, "price: \"6,90\"", "price: \"7,40\"");
    assert_eq!(lists_made(dir, "a price"), 2);

    // A photo replaced by another of another size: every page showing it, and its derivatives.
    let cover = dir.join("content/chalets/cire-et-meche/cover.png");
    image::RgbImage::from_pixel(96, 48, image::Rgb([200, 40, 40]))
        .save(&cover)
        .expect("png");
    build_both(dir, "a photo replaced");
    assert!(
        read(&dir.join("dist/chalets/cire-et-meche/index.html")).contains("height=\"48\""),
        "the new photo's size is on the chalet page"
    );

    // A product's photo, then that photo replaced: its pages only (the square shows covers).
    let photo = dir.join("content/chalets/cire-et-meche/products/fondants.png");
    image::RgbImage::from_pixel(120, 90, image::Rgb([40, 40, 200]))
        .save(&photo)
        .expect("png");
    edit(
        dir,
        FONDANTS,
        "price: \"7,40\"",
        "price: \"7,40\"\nimages:\n  - src: fondants.png\n    alt: Des fondants",
    );
    build_both(dir, "a product's photo added");
    image::RgbImage::from_pixel(120, 60, image::Rgb([40, 200, 40]))
        .save(&photo)
        .expect("png");
    let photo_pages = build_both(dir, "a product's photo replaced");
    assert!(
        photo_pages < all / 2,
        "{photo_pages} of {all} pages for one product's photo"
    );

    let added = dir.join("content/chalets/cire-et-meche/products/pommes-de-pin.md");
    std::fs::write(
        &added,
        "---\nname: Pommes de pin\nprice: \"3,50\"\nstock: 4\n---\nParfumées.\n",
    )
    .expect("add");
    // Its chalet's pages (their head shows how many products it has), the pages listing the
    // chalets' cards (the square, the categories, the sellers) and the lists; not the others.
    let summary = build_summary(dir, "a product added");
    assert_eq!(number_before(&summary, " of 3 lists made"), Some(3));
    let added_pages = rendered(&summary).expect("rendered");
    assert!(
        added_pages < all / 2,
        "{added_pages} of {all} pages for a product added"
    );
    assert!(
        dir.join("dist/chalets/cire-et-meche/pommes-de-pin/index.html")
            .is_file()
    );

    let renamed = dir.join("content/chalets/cire-et-meche/products/cones.md");
    std::fs::rename(&added, &renamed).expect("rename");
    build_both(dir, "a product renamed");
    assert!(
        !dir.join("dist/chalets/cire-et-meche/pommes-de-pin").exists(),
        "the old page is gone"
    );

    std::fs::remove_file(&renamed).expect("delete");
    build_both(dir, "a product deleted");
    assert!(!dir.join("dist/chalets/cire-et-meche/cones").exists());
    assert!(
        !read(&dir.join("dist/search.json")).contains("Pommes de pin"),
        "out of the search index"
    );

    // A second chalet of the same category: its first product becomes a neighbour on the
    // first chalet's product pages (which have too few of their own), so editing it reaches them.
    let lampes = copy_chalet(
        dir,
        "cire-et-meche",
        "lampes-du-quai",
        ("Cire & Mèche", "Lampes du Quai"),
    );
    let summary = build_summary(dir, "a chalet added");
    assert_eq!(
        number_before(&summary, " chalets validated"),
        Some(1),
        "the new chalet only"
    );
    // Its pages, the listing pages and the other chalet's product pages it is a neighbour on.
    let (made, pages) = (rendered(&summary), number_before(&summary, " pages ("));
    assert!(
        made < pages.map(|p| p / 2),
        "{made:?} of {pages:?} pages for a chalet added"
    );
    edit(
        dir,
        "content/chalets/lampes-du-quai/products/bougie-sapin.md",
        "Bougie « Sapin »",
        "Lampe « Sapin »",
    );
    build_both(dir, "a neighbour's product");
    assert!(read(&dir.join("dist/chalets/cire-et-meche/fondants/index.html")).contains("Lampe « Sapin »"));
    std::fs::remove_dir_all(&lampes).expect("delete");
    build_both(dir, "a chalet deleted");
    assert!(!dir.join("dist/chalets/lampes-du-quai").exists());

    // A chalet that sorts before all the others moves every chalet's place in the market; the
    // pages of those it is no neighbour of are what they were, and are not made again: its own
    // two, the square, the two categories, the sellers, and the page of the one restaurant's
    // product it becomes a neighbour of — not the candle maker's product pages (9 when
    // fingerprints held places).
    let first = copy_chalet(
        dir,
        "bons-du-carre",
        "atelier-aube",
        ("\"Les Bons du Carré\"", "\"L'Aube\""),
    );
    let summary = build_summary(dir, "a chalet added in front");
    assert_eq!(rendered(&summary), Some(7), "{summary}");
    std::fs::remove_dir_all(&first).expect("delete");
    build_both(dir, "the chalet in front deleted");

    edit(
        dir,
        "themes/default/templates/product.html",
        "{% endblock title %}",
        " ·{% endblock title %}",
    );
    let product_pages = build_both(dir, "a template");
    assert!(
        product_pages > 0 && product_pages < all,
        "{product_pages}: the product pages only"
    );

    let partial = "themes/default/templates/partials/picture.html";
    std::fs::write(dir.join(partial), read(&dir.join(partial)) + "\n").expect("partial");
    build_both(dir, "a partial");

    edit(dir, "themes/default/i18n/fr.yaml", ": \"Panier\"", ": \"Mon panier\"");
    assert_eq!(
        build_both(dir, "a translation"),
        all,
        "every page shows the basket link"
    );

    edit(
        dir,
        "content/market.yaml",
        "name: \"Bougies\"",
        "name: \"Bougies et lampes\"",
    );
    // The categories are what every chalet is checked against: all are validated again.
    assert_eq!(build_counting(dir, "a category's name").1, chalets);

    edit(dir, "content/market.yaml", "Un marché d'essai", "Le marché d'essai");
    build_both(dir, "market.yaml");

    let css = dir.join("themes/default/static/style.css");
    std::fs::write(&css, read(&css) + "\n.x{color:red}\n").expect("css");
    build_both(dir, "a stylesheet");

    // A broken edit changes nothing; its fix builds like a clean build.
    edit(dir, FONDANTS, "price: \"7,40\"", "price: \"sept\"");
    let broken = chalet(
        dir,
        &["build", "--content", "content", "--themes", "themes", "--out", "dist"],
    );
    assert_eq!(broken.code, 1, "{}", broken.stderr);
    edit(dir, FONDANTS, "price: \"sept\"", "price: \"7,45\"");
    assert_eq!(build_counting(dir, "after a broken edit").1, 1);
}

#[test]
fn other_options_or_a_damaged_state_render_everything_and_say_why() {
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    let build = |extra: &[&str]| {
        let mut args = vec!["build", "--content", "content", "--out", "dist"];
        args.extend_from_slice(extra);
        let themes = themes();
        let themes = themes.to_str().expect("utf-8 path").to_string();
        args.extend_from_slice(&["--themes", &themes]);
        chalet(dir, &args)
    };
    let first = build(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        !first.stderr.contains("note: every page"),
        "a first build needs no word: {}",
        first.stderr
    );
    let pages = rendered(&first.stdout).expect("count");
    assert_eq!(rendered(&build(&[]).stdout), Some(0));

    let moved = build(&["--base-url", "https://ailleurs.example/"]);
    assert!(
        moved
            .stderr
            .contains("note: every page was rendered: the last build used another theme or other options"),
        "{}",
        moved.stderr
    );
    assert_eq!(rendered(&moved.stdout), Some(pages));

    let states: Vec<_> = std::fs::read_dir(dir.join(".cache/chalet"))
        .expect("cache")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "state"))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("pages-")))
        .collect();
    assert_eq!(states.len(), 1, "one pages' state for one output folder: {states:?}");
    std::fs::write(&states[0], "chalet-pages 1\n0.0.0\n").expect("damage");
    let after = build(&["--base-url", "https://ailleurs.example/"]);
    assert!(
        after.stderr.contains("from another version of chalet"),
        "{}",
        after.stderr
    );
    assert_eq!(rendered(&after.stdout), Some(pages));
    // A page edited by hand in the output is rendered again, whatever the state says.
    let home = dir.join("dist/index.html");
    std::fs::write(&home, "edited").expect("edit");
    std::fs::write(
        dir.join("dist/.chalet-manifest"),
        read(&dir.join("dist/.chalet-manifest")).replace("\tindex.html", "x\tindex.html"),
    )
    .expect("manifest");
    let again = build(&["--base-url", "https://ailleurs.example/"]);
    assert_eq!(rendered(&again.stdout), Some(1), "{}", again.stdout);
    assert!(read(&home).contains("<!DOCTYPE html>") || read(&home).contains("<!doctype html>"));
    // The same for one of the market's lists: the catalogue alone is made again.
    let catalogue = dir.join("dist/catalogue.json");
    let made = read(&catalogue);
    std::fs::write(&catalogue, "{}").expect("edit");
    std::fs::write(
        dir.join("dist/.chalet-manifest"),
        read(&dir.join("dist/.chalet-manifest")).replace("\tcatalogue.json", "x\tcatalogue.json"),
    )
    .expect("manifest");
    let again = build(&["--base-url", "https://ailleurs.example/"]);
    assert_eq!(
        number_before(&again.stdout, " of 3 lists made"),
        Some(1),
        "{}",
        again.stdout
    );
    assert_eq!(read(&catalogue), made);
}

const MECHE: &str = "content/chalets/cire-et-meche/chalet.yaml";

/// `chalet build` in `dir`, exit code checked; returns how many chalets it validated.
fn validated_by(dir: &Path, code: i32) -> (usize, Run) {
    let run = chalet(
        dir,
        &["build", "--content", "content", "--themes", "themes", "--out", "dist"],
    );
    assert_eq!(run.code, code, "{}{}", run.stdout, run.stderr);
    (
        number_before(&run.stdout, " chalets validated").unwrap_or(usize::MAX),
        run,
    )
}

#[test]
fn a_chalet_is_taken_again_only_when_nothing_it_was_checked_with_changed() {
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    copy_dir(&themes(), &dir.join("themes"));
    age(&dir.join("content"));
    assert_eq!(validated_by(dir, 0).0, 2);
    assert_eq!(validated_by(dir, 0).0, 0, "nothing changed");

    // Damaged entries are misses, never errors.
    for e in std::fs::read_dir(dir.join(".cache/chalet")).expect("cache").flatten() {
        if e.file_name().to_string_lossy().starts_with("chalets-") {
            for f in std::fs::read_dir(e.path()).expect("entries").flatten() {
                std::fs::write(f.path(), "{\"format\": ").expect("damage");
            }
        }
    }
    assert_eq!(validated_by(dir, 0).0, 2, "damaged entries");
    assert_eq!(validated_by(dir, 0).0, 0, "written again");

    // A file changed twice within its clock's tick keeps its size and time; a build that
    // read it between the two cannot vouch for it. Simulated: same length, same time.
    let path = dir.join(MECHE);
    let stamp = std::fs::metadata(&path).and_then(|m| m.modified()).expect("time");
    let now = std::time::SystemTime::now();
    edit(dir, MECHE, "Bougies coulées main", "Bougies coulées tard");
    let set = |t| {
        let f = std::fs::File::options().write(true).open(&path).expect("open");
        f.set_modified(t).expect("time");
    };
    set(now);
    assert_eq!(validated_by(dir, 0).0, 1);
    edit(dir, MECHE, "Bougies coulées tard", "Bougies coulées midi");
    set(now);
    assert_eq!(validated_by(dir, 0).0, 1, "the same stamp, within the racy window");
    assert!(read(&dir.join("dist/chalets/cire-et-meche/index.html")).contains("Bougies coulées midi"));
    // Once old enough, the stamp is trusted again.
    set(stamp);
    assert_eq!(validated_by(dir, 0).0, 1);
    assert_eq!(validated_by(dir, 0).0, 0);

    // An image outside the chalet's folder can vanish without its folder changing: such a
    // chalet is validated every time, so the missing image is reported.
    std::fs::create_dir_all(dir.join("content/images")).expect("mkdir");
    std::fs::copy(
        dir.join("content/chalets/cire-et-meche/cover.png"),
        dir.join("content/images/commun.png"),
    )
    .expect("copy");
    edit(dir, MECHE, "cover: cover.png", "cover: ../../images/commun.png");
    age(&dir.join("content"));
    assert_eq!(validated_by(dir, 0).0, 1);
    assert_eq!(validated_by(dir, 0).0, 1, "not kept: its cover is elsewhere");
    std::fs::remove_file(dir.join("content/images/commun.png")).expect("delete");
    let (_, run) = validated_by(dir, 1);
    assert!(run.stderr.contains("commun.png"), "{}", run.stderr);

    // A chalet with an error is not kept either; a rule of the market changes them all.
    edit(dir, MECHE, "cover: ../../images/commun.png", "cover: cover.png");
    edit(
        dir,
        "content/market.yaml",
        "name: \"Bougies\"",
        "name: \"Bougies et lampes\"",
    );
    age(&dir.join("content"));
    assert_eq!(validated_by(dir, 0).0, 2);
    assert_eq!(validated_by(dir, 0).0, 0);
}

#[test]
fn a_product_s_description_renders_its_page_and_its_chalet_s_not_its_siblings() {
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    copy_dir(&themes(), &dir.join("themes"));
    // Eight products: each product page shows four others as neighbours (the first ones).
    let fondants = read(&dir.join(FONDANTS));
    for i in 1..=6 {
        let copy = fondants.replace("name: Fondants", &format!("name: Fondants {i}"));
        let path = dir.join(format!("content/chalets/cire-et-meche/products/fondants-{i}.md"));
        std::fs::write(path, copy).expect("copy");
    }
    build_both(dir, "eight products");
    let last = "content/chalets/cire-et-meche/products/fondants-6.md";
    edit(dir, last, "Fait sur commande.", "Fait sur commande, en hiver.");
    assert_eq!(
        build_both(dir, "the last one's description"),
        2,
        "its page and its chalet's page"
    );
    // The first product's name is on its siblings' pages, as a neighbour's card.
    let first = "content/chalets/cire-et-meche/products/bougie-sapin.md";
    edit(dir, first, "Bougie « Sapin »", "Bougie « Épicéa »");
    let named = build_both(dir, "the first one's name");
    assert!(named > 5, "{named}: its page, its chalet's and its siblings'");
}

const UP_TO_DATE: &str = "(nothing changed since the last build)";

#[test]
fn a_build_with_nothing_to_do_says_so_and_anything_it_reads_makes_it_build() {
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    copy_dir(&themes(), &dir.join("themes"));
    // Every input made older than the racy window first, as files between two builds are.
    let build = |step: &str, extra: &[&str], settle: bool| {
        if settle {
            age(&dir.join("content"));
            age(&dir.join("themes"));
        }
        let mut args = vec!["build", "--content", "content", "--themes", "themes", "--out", "dist"];
        args.extend_from_slice(extra);
        let run = chalet(dir, &args);
        assert_eq!(run.code, 0, "{step}: {}", run.stderr);
        run
    };
    let first = build("first", &[], true);
    assert!(!first.stdout.contains(UP_TO_DATE), "{}", first.stdout);
    let output = tree(&dir.join("dist"));
    let again = build("again", &[], true);
    assert!(again.stdout.contains(UP_TO_DATE), "{}", again.stdout);
    assert_eq!(again.stderr, first.stderr, "the same warnings, said again");
    let numbers = |s: &str| s.split(" pages (").next().map(str::to_string);
    assert_eq!(numbers(&again.stdout), numbers(&first.stdout));
    assert_eq!(tree(&dir.join("dist")), output, "nothing touched");

    // Whatever the build reads or left makes the next one build, then the one after has
    // nothing to do again; the output is a clean build's each time.
    type Step<'a> = (&'a str, &'a dyn Fn(), &'a [&'a str]);
    let steps: [Step; 5] = [
        (
            "a product's text",
            &|| edit(dir, FONDANTS, "Fait sur commande.", "Fait sur commande, à la main."),
            &[],
        ),
        (
            "a template",
            &|| {
                let base = dir.join("themes/default/templates/base.html");
                std::fs::write(&base, read(&base) + "\n{# edited #}\n").expect("edit");
            },
            &[],
        ),
        ("the pages' state gone", &|| remove_states(dir, "pages-"), &[]),
        (
            "the output's manifest",
            &|| {
                let m = dir.join("dist/.chalet-manifest");
                std::fs::write(&m, read(&m).replace("\tindex.html", "x\tindex.html")).expect("manifest");
            },
            &[],
        ),
        ("another address", &|| {}, &["--base-url", "https://ailleurs.example/"]),
    ];
    for (step, change, extra) in steps {
        change();
        let built = build(step, extra, true);
        assert!(!built.stdout.contains(UP_TO_DATE), "{step}: {}", built.stdout);
        let again = build(step, extra, true);
        assert!(again.stdout.contains(UP_TO_DATE), "{step}, again: {}", again.stdout);
        if extra.is_empty() {
            let differ = differing(&tree(&dir.join("dist")), &clean_build(dir, step))
                .into_iter()
                .cloned()
                .collect::<Vec<_>>();
            assert!(differ.is_empty(), "{step}: {differ:?}");
        }
    }

    // An edit too recent to be told apart by its time from one in the same clock tick is
    // never taken as done: the build after it builds again.
    edit(dir, FONDANTS, "à la main", "à la main, ici");
    let fresh = build("a fresh edit", &[], false);
    assert!(!fresh.stdout.contains(UP_TO_DATE), "{}", fresh.stdout);
    let soon = build("right after", &[], false);
    assert!(!soon.stdout.contains(UP_TO_DATE), "{}", soon.stdout);
}

fn remove_states(dir: &Path, prefix: &str) {
    for e in std::fs::read_dir(dir.join(".cache/chalet")).expect("cache").flatten() {
        if e.file_name().to_string_lossy().starts_with(prefix) {
            std::fs::remove_file(e.path()).expect("remove");
        }
    }
}

#[test]
fn a_content_folder_named_another_way_is_one_folder_with_one_cache() {
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    copy_dir(&themes(), &dir.join("themes"));
    let (all, _) = build_counting(dir, "first build");
    // Named by its absolute path (or from a folder above), the same folder after one edit: the
    // one changed chalet is checked and a few pages made, and paths are shown as before.
    edit(dir, FONDANTS, "Fait sur commande.", "Fait sur commande, à la main.");
    age(&dir.join("content"));
    let content = dir.join("content");
    let out = dir.join("dist");
    let run = chalet(
        dir,
        &[
            "build",
            "--content",
            &content.to_string_lossy(),
            "--themes",
            "themes",
            "--out",
            &out.to_string_lossy(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        number_before(&run.stdout, " chalets validated"),
        Some(1),
        "{}",
        run.stdout
    );
    let made = rendered(&run.stdout).expect("rendered");
    assert!(made < all / 2, "{made} of {all} pages rendered: {}", run.stdout);
    assert!(
        !run.stdout.contains(&*content.to_string_lossy()) && !run.stderr.contains(&*content.to_string_lossy()),
        "paths are shown relative to the working folder: {}{}",
        run.stdout,
        run.stderr
    );
    // And back: relative again, nothing to do.
    edit(dir, FONDANTS, "Fait sur commande, à la main.", "Fait sur commande.");
    assert_eq!(build_counting(dir, "named as first").1, 1);
}
