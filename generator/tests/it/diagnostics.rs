//! What artisans see when something is wrong: every invalid fixture's full diagnostics are
//! snapshotted, and the ten-mistake market is checked position by position.

use crate::common::*;

/// Each `fixtures/invalid/<case>/content` fails with exit code 1 and exactly these diagnostics.
#[test]
fn invalid_fixtures_report_everything() {
    let cases = std::fs::read_dir(fixture("invalid")).expect("fixtures");
    let mut names: Vec<String> = cases
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        let tmp = site_in_temp(&format!("invalid/{name}"));
        let run = chalet(tmp.path(), &["build", "--themes", themes().to_str().expect("utf8")]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(!tmp.path().join("dist").exists(), "{name}: wrote dist/");
        // Template errors name the theme path, which depends on the checkout: keep it stable.
        let stderr = run.stderr.replace(&themes().display().to_string(), "<themes>");
        insta::assert_snapshot!(format!("invalid_{name}"), stderr);
    }
}

#[test]
fn ten_planted_mistakes_are_all_reported_and_dist_is_untouched() {
    let tmp = site_in_temp("invalid/ten-mistakes");
    // The eleventh mistake cannot live in git portably: a symlink to a file outside the folder.
    let secret = tmp.path().join("secret.png");
    std::fs::write(&secret, b"not for the site").expect("write");
    std::os::unix::fs::symlink(&secret, tmp.path().join("content/chalets/la-cire/lien.png")).expect("symlink");
    // A previous good build that must survive.
    let dist = tmp.path().join("dist");
    std::fs::create_dir_all(dist.join("chalets")).expect("mkdir");
    std::fs::write(dist.join("index.html"), "<p>the last good site</p>").expect("write");
    std::fs::write(dist.join("chalets/keep.txt"), "keep").expect("write");
    let before = tree(&dist);

    let run = chalet(tmp.path(), &["build", "--themes", themes().to_str().expect("utf8")]);
    assert_eq!(run.code, 1);
    let expected = [
        ("content/market.yaml:6:13:", "category `bougies` is declared twice"),
        (
            "content/chalets/la-cire/chalet.yaml:1:1:",
            "missing its required field `town`",
        ),
        (
            "content/chalets/la-cire/chalet.yaml:3:11:",
            "category `bougie` is not declared",
        ),
        (
            "content/chalets/la-cire/products/bougie.md:3:1:",
            "unknown field `prise`",
        ),
        (
            "content/chalets/la-cire/products/fondant.md:3:8:",
            "price `douze euros` is not a valid price",
        ),
        (
            "content/chalets/la-cire/products/fondant.md:4:10:",
            "image `fondant.jpg` does not exist",
        ),
        (
            "content/chalets/savons-du-pont/chalet.yaml:5:8:",
            "points outside the content folder",
        ),
        (
            "content/chalets/savons-du-pont/products/savon.md:3:9:",
            "this is not valid YAML",
        ),
        ("content/chalets/Mon_Chalet/chalet.yaml:1:1:", "is not a valid slug"),
        (
            "content/chalets/sans-retrait/chalet.yaml:1:1:",
            "neither pickup nor shipping",
        ),
        (
            "content/chalets/sans-retrait/products/boule.md:4:8:",
            "stock should be a whole number",
        ),
        (
            "content/chalets/la-cire/lien.png:1:1:",
            "symbolic links are not allowed",
        ),
    ];
    for (at, what) in expected {
        assert!(
            run.stderr.lines().any(|l| l.starts_with(at) && l.contains(what)),
            "missing `{at} … {what}` in:\n{}",
            run.stderr
        );
    }
    // Each mistake once; `bougie.md` lacking `price` is the consequence of its typo, reported too.
    assert!(run.stderr.contains("\n13 errors,"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: did you mean `price`?"));
    assert!(run.stderr.contains("hint: did you mean `bougies`?"));
    assert!(run.stderr.contains("did you mean `mon-chalet`?"));
    assert_eq!(tree(&dist), before, "dist/ must be exactly as it was");
}
