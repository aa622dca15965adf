//! Hostile or careless content cannot delete, stall or forge: the first items of issue 14
//! (output folder, theme names, special files, control characters in diagnostics).

use crate::common::*;

fn themes_arg() -> String {
    themes().to_str().expect("utf8").to_string()
}

/// `chalet check` in `dir`, which must fail with content errors (exit 1); its stderr.
fn check_fails(dir: &std::path::Path) -> String {
    let run = chalet(dir, &["check", "--themes", &themes_arg()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.stderr
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
    let stderr = check_fails(tmp.path());
    assert!(
        stderr.contains("content/market.yaml:5:8: theme `../content/chalets/shop/t` is not a theme name"),
        "{}",
        stderr
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
    let stderr = check_fails(tmp.path());
    assert!(
        stderr.contains("content/pages/about.md:1:1: is not a regular file"),
        "{}",
        stderr
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
    let stderr = check_fails(tmp.path());
    assert!(!stderr.contains('\u{1b}'), "no raw escape reaches the terminal");
    for line in stderr.lines() {
        assert!(!line.starts_with("market.yaml:1:1"), "forged line: {line}");
    }
    assert!(
        stderr.contains("content/pages/x\\nmarket.yaml:1:1: forged\\u{1b}[31m.md:1:1:"),
        "{}",
        stderr
    );
    // Hint lines are indented, and the matcher only takes lines that start with a path.
    let matcher = read(&repo().join("infra/content-repo/.github/chalet-problem-matcher.json"));
    assert!(matcher.contains(r#""regexp": "^([^\\s].*?):"#), "{matcher}");
}

/// Replaces the photo of the fixture's candle with `png` and returns the temp site.
fn with_candle_photo(png: &[u8]) -> tempfile::TempDir {
    let tmp = site_in_temp("valid/minimal");
    std::fs::write(tmp.path().join("content/chalets/cire-et-meche/products/photo.png"), png).expect("write");
    let product = tmp
        .path()
        .join("content/chalets/cire-et-meche/products/bougie-sapin.md");
    let text = read(&product).replace("src: ../cover.png", "src: photo.png");
    std::fs::write(&product, text).expect("write");
    tmp
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::GrayImage::from_pixel(width, height, image::Luma([200]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode");
    out
}

/// A PNG that declares `width × height` and holds no pixel data: only its header is ever read.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    fn crc(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for b in bytes {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(13u32.to_be_bytes());
    out.extend(&ihdr);
    out.extend(crc(&ihdr).to_be_bytes());
    out.extend(0u32.to_be_bytes());
    out.extend(b"IEND");
    out.extend(crc(b"IEND").to_be_bytes());
    out
}

/// Regression: a 20 KB 400×17000 PNG panicked inside the WebP encoder (exit 101, no position).
#[test]
fn a_strip_image_is_refused_with_its_position() {
    let tmp = with_candle_photo(&png(400, 17_000));
    let before = tree(&tmp.path().join("content"));
    let run = chalet(tmp.path(), &["build", "--themes", &themes_arg()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("content/chalets/cire-et-meche/products/bougie-sapin.md:6:")
            && run
                .stderr
                .contains("400×17000 pixels, more than 20 times longer than it is wide"),
        "{}",
        run.stderr
    );
    assert!(!tmp.path().join("dist").exists(), "nothing written");
    assert_eq!(tree(&tmp.path().join("content")), before);
}

/// Regression: a 146 KB PNG of 49,999,999×1 took 90 s and 3.2 GB.
#[test]
fn a_very_long_side_is_refused_from_the_header() {
    let tmp = with_candle_photo(&png_header(49_999_999, 1));
    let stderr = check_fails(tmp.path());
    assert!(
        stderr.contains("49999999×1 pixels; a side may be at most 30000"),
        "{}",
        stderr
    );
}

/// Regression: `lantern.MD`, `garland.markdown` and `Chalet.YAML` were ignored without a word.
#[test]
fn files_a_chalet_cannot_use_are_named_with_what_was_meant() {
    let tmp = site_in_temp("valid/minimal");
    let folder = tmp.path().join("content/chalets/cire-et-meche");
    let product = read(&folder.join("products/fondants.md"));
    std::fs::write(folder.join("products/lantern.MD"), &product).expect("write");
    std::fs::write(folder.join("products/garland.markdown"), &product).expect("write");
    std::fs::rename(folder.join("about.md"), folder.join("About.MD")).ok();
    let checked = chalet(tmp.path(), &["check", "--themes", &themes_arg()]);
    assert_eq!(checked.code, 0, "warnings, not errors: {}", checked.stderr);
    let run = checked.stderr;
    for (file, meant) in [
        ("products/lantern.MD", "products/lantern.md"),
        ("products/garland.markdown", "products/garland.md"),
        ("About.MD", "about.md"),
    ] {
        let line = format!("content/chalets/cire-et-meche/{file}:1:1: warning: this file is not read");
        assert!(run.contains(&line), "{file}: {run}");
        assert!(run.contains(&format!("did you mean `{meant}`?")), "{meant}: {run}");
    }
}

/// Regression: extensionless theme files were published at the site root (`id_rsa` → `/id_rsa`),
/// and a symlinked `content/templates` was followed.
#[test]
fn a_theme_publishes_only_what_a_theme_may_hold_and_templates_are_not_links() {
    let tmp = site_in_temp("valid/minimal");
    let themes_copy = tmp.path().join("themes");
    copy_dir(&themes(), &themes_copy);
    std::fs::write(themes_copy.join("default/static/id_rsa"), "-----BEGIN KEY-----").expect("write");
    std::fs::write(themes_copy.join("default/static/run.sh"), "#!/bin/sh").expect("write");
    let run = chalet(tmp.path(), &["build", "--themes", "themes"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for f in ["id_rsa", "run.sh"] {
        assert!(
            run.stderr
                .contains(&format!("static/{f}:1:1: a theme may not publish this file")),
            "{}",
            run.stderr
        );
    }
    assert!(!tmp.path().join("dist").exists());
    std::fs::remove_file(themes_copy.join("default/static/id_rsa")).expect("rm");
    std::fs::remove_file(themes_copy.join("default/static/run.sh")).expect("rm");
    std::os::unix::fs::symlink("/etc", tmp.path().join("content/templates")).expect("link");
    let run = chalet(tmp.path(), &["build", "--themes", "themes"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("content/templates:1:1: template overrides cannot be a link"),
        "{}",
        run.stderr
    );
}

/// Regression: 40 KB of nested `>` took ~5 s to render and 100,000 image references 3 minutes
/// (quadratic in the sanitiser and in placeholder replacement). Such texts are refused, with
/// their position, before anything renders them.
#[test]
fn deep_nesting_and_image_floods_are_refused_before_rendering() {
    let tmp = site_in_temp("valid/minimal");
    let page = tmp.path().join("content/pages/profond.md");
    std::fs::write(
        &page,
        format!("---\ntitle: Profond\n---\nIntro.\n\n{}\n", ">".repeat(40_000)),
    )
    .expect("write");
    let flood = tmp.path().join("content/pages/photos.md");
    std::fs::write(
        &flood,
        format!("---\ntitle: Photos\n---\n{}", "![x](a.png)\n".repeat(20_000)),
    )
    .expect("write");
    let stderr = check_fails(tmp.path());
    assert!(
        stderr.contains("content/pages/profond.md:6:") && stderr.contains("nests more than 32 levels"),
        "{}",
        stderr
    );
    assert!(
        stderr.contains("content/pages/photos.md:104:1: a text may show at most 100 images"),
        "{}",
        stderr
    );
    assert!(
        !stderr.contains("a.png` does not exist"),
        "a refused text's images are not resolved"
    );
}

/// Wording: the YAML library's own API words never reach an artisan, and a hint that belongs
/// to one field is not given for another.
#[test]
fn messages_speak_the_artisans_language() {
    let tmp = site_in_temp("valid/minimal");
    let product = tmp.path().join("content/chalets/cire-et-meche/products/fondants.md");
    let text = read(&product).replace("name: Fondants\n", "name: Fondants\nname: Encore\n");
    std::fs::write(&product, text).expect("write");
    let market = tmp.path().join("content/market.yaml");
    let text = read(&market).replace("language: fr\n", "language: fr\nimages: { max_megapixels: -1 }\n");
    std::fs::write(&market, text).expect("write");
    let stderr = check_fails(tmp.path());
    assert!(stderr.contains("a field is written twice"), "{stderr}");
    assert!(
        !stderr.contains("DuplicateKeyPolicy") && !stderr.contains("Options"),
        "{stderr}"
    );
    let line = stderr
        .lines()
        .position(|l| l.contains("max_megapixels should be a whole number"))
        .expect("reported");
    let next = stderr.lines().nth(line + 1).unwrap_or("");
    assert!(
        !next.contains("sold out"),
        "the stock's hint is not the image setting's: {next}"
    );
}

/// Wording: a chalet.yaml refused for its size is reported once, not then also as missing.
#[test]
fn a_file_refused_for_its_size_is_not_also_missing() {
    let tmp = site_in_temp("valid/minimal");
    let yaml = tmp.path().join("content/chalets/cire-et-meche/chalet.yaml");
    let mut text = read(&yaml);
    text.push_str(&format!("# {}\n", "x".repeat(1_100_000)));
    std::fs::write(&yaml, text).expect("write");
    let stderr = check_fails(tmp.path());
    assert!(
        stderr.contains("chalet.yaml:1:1: is 1") && stderr.contains("limited to 1 MB"),
        "{stderr}"
    );
    assert!(!stderr.contains("has no chalet.yaml"), "{stderr}");
}

/// Wording: an unknown theme is reported at its line in market.yaml, where it can be fixed.
#[test]
fn an_unknown_theme_is_reported_where_it_is_named() {
    let tmp = site_in_temp("valid/minimal");
    let market = tmp.path().join("content/market.yaml");
    let text = read(&market).replace("language: fr\n", "language: fr\ntheme: hiver\n");
    std::fs::write(&market, text).expect("write");
    let stderr = check_fails(tmp.path());
    assert!(
        stderr.contains("content/market.yaml:5:8: theme `hiver` not found"),
        "{stderr}"
    );
    assert!(stderr.contains("available themes: default"), "{stderr}");
}
