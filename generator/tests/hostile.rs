//! Hostile or careless content cannot delete, stall or forge: the first items of issue 14
//! (output folder, theme names, special files, control characters in diagnostics).

mod common;

use common::*;

fn themes_arg() -> String {
    themes().to_str().expect("utf8").to_string()
}

/// Regression: `--out content` (or an ancestor of it) deleted the content when the build
/// swapped its output in.
#[test]
fn an_output_folder_over_the_content_or_the_themes_is_refused_before_anything_is_touched() {
    let tmp = site_in_temp("valid/minimal");
    let themes_copy = tmp.path().join("themes");
    copy_dir(&themes(), &themes_copy);
    let content_before = tree(&tmp.path().join("content"));
    let themes_before = tree(&themes_copy);
    for out in ["content", ".", "content/pages", "themes", "themes/default/static"] {
        for verb in ["build", "serve"] {
            let run = chalet(tmp.path(), &[verb, "--themes", "themes", "--out", out, "--port", "0"]);
            assert_eq!(run.code, 2, "{verb} --out {out}: {}", run.stderr);
            assert!(run.stderr.contains("--out"), "{verb} --out {out}: {}", run.stderr);
        }
    }
    assert_eq!(tree(&tmp.path().join("content")), content_before, "content untouched");
    assert_eq!(tree(&themes_copy), themes_before, "themes untouched");
    let run = chalet(tmp.path(), &["build", "--themes", "themes", "--out", "dist"]);
    assert_eq!(run.code, 0, "a sibling folder is fine: {}", run.stderr);
}

/// Regression: `theme:` was joined to the themes folder unchecked, so a chalet folder could
/// become the theme and its `static/evil.js` part of the site.
#[test]
fn a_theme_name_is_a_slug() {
    let tmp = site_in_temp("valid/minimal");
    let market = tmp.path().join("content/market.yaml");
    let text = read(&market).replace("language: fr\n", "language: fr\ntheme: \"../content/chalets/shop/t\"\n");
    std::fs::write(&market, text).expect("write");
    let run = chalet(tmp.path(), &["check", "--themes", &themes_arg()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("content/market.yaml:5:8: theme `../content/chalets/shop/t` is not a theme name"),
        "{}",
        run.stderr
    );
}

/// Regression: a named pipe called `about.md` blocked `check` forever.
#[test]
fn a_named_pipe_is_refused_not_read() {
    let tmp = site_in_temp("valid/minimal");
    let pipe = tmp.path().join("content/pages/about.md");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let run = chalet(tmp.path(), &["check", "--themes", &themes_arg()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("content/pages/about.md:1:1: is not a regular file"),
        "{}",
        run.stderr
    );
}

/// Regression: a newline in a file name forged a whole diagnostic line (which the content
/// repository's problem matcher would turn into an annotation on another file), and escape
/// sequences reached the terminal.
#[test]
fn control_characters_in_names_cannot_forge_lines() {
    let tmp = site_in_temp("valid/minimal");
    let name = "x\nmarket.yaml:1:1: forged\u{1b}[31m.md";
    std::fs::write(tmp.path().join("content/pages").join(name), "no front matter\n").expect("write");
    let run = chalet(tmp.path(), &["check", "--themes", &themes_arg()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "no raw escape reaches the terminal");
    for line in run.stderr.lines() {
        assert!(!line.starts_with("market.yaml:1:1"), "forged line: {line}");
    }
    assert!(
        run.stderr
            .contains("content/pages/x\\nmarket.yaml:1:1: forged\\u{1b}[31m.md:1:1:"),
        "{}",
        run.stderr
    );
    // Hint lines are indented, and the matcher only takes lines that start with a path.
    let matcher = read(&repo().join("infra/content-repo/.github/chalet-problem-matcher.json"));
    assert!(matcher.contains(r#""regexp": "^([^\\s].*?):"#), "{matcher}");
}
