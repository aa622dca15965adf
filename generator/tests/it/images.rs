//! The image pipeline on real files: orientation, privacy, transparency, colour conversions and
//! the cache (an unchanged site encodes nothing; a changed photo re-encodes only itself).

use crate::common::*;
use image::GenericImageView;
use std::path::{Path, PathBuf};

fn build_photos() -> tempfile::TempDir {
    let tmp = site_in_temp("valid/photos");
    let run = chalet(tmp.path(), &["build", "--themes", themes().to_str().expect("utf8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    tmp
}

/// The one output file whose name starts with `prefix` and ends with `ext`.
fn output(dir: &Path, prefix: &str, ext: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir.join("dist/images"))
        .expect("images")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.starts_with(prefix) && n.ends_with(ext)
        })
        .collect();
    assert_eq!(found.len(), 1, "{prefix}*{ext}: {found:?}");
    found[0].clone()
}

fn decode(path: &Path) -> image::DynamicImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn exif_rotated_photo_comes_out_upright() {
    let tmp = build_photos();
    // Stored 1600×1200 with "rotate 90° clockwise": shown 1200×1600, the red left half on top.
    for file in [
        output(tmp.path(), "rotated-400.", ".jpg"),
        output(tmp.path(), "rotated-400.", ".webp"),
    ] {
        let img = decode(&file);
        assert_eq!(img.dimensions(), (400, 533), "{}", file.display());
        let top = img.get_pixel(200, 20);
        let bottom = img.get_pixel(200, 513);
        assert!(top[0] > 150 && top[2] < 100, "top should be red, is {top:?}");
        assert!(
            bottom[2] > 150 && bottom[0] < 100,
            "bottom should be blue, is {bottom:?}"
        );
    }
    let page = read(&tmp.path().join("dist/chalets/photos/index.html"));
    assert!(
        page.contains(r#"width="400" height="533""#),
        "the page knows the upright size"
    );
}

#[test]
fn no_output_carries_exif_or_gps() {
    let tmp = build_photos();
    let source = std::fs::read(fixture("valid/photos/content/chalets/photos/rotated.jpg")).expect("source");
    let has = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // The test means something only if the source really carries them.
    assert!(has(&source, b"Exif") && has(&source, b"SERIAL-0123456789") && has(&source, b"PhoneMaker"));
    let files: Vec<PathBuf> = std::fs::read_dir(tmp.path().join("dist/images"))
        .expect("ls")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(files.len() >= 15, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).expect("read");
        for needle in [&b"Exif"[..], b"EXIF", b"SERIAL", b"PhoneMaker", b"XMP", b"iCCP"] {
            assert!(
                !has(&bytes, needle),
                "{} contains {:?}",
                f.display(),
                String::from_utf8_lossy(needle)
            );
        }
        if f.extension().is_some_and(|e| e == "jpg") {
            assert!(!has(&bytes, &[0xFF, 0xE1]), "{} has an APP1 segment", f.display());
        }
    }
}

#[test]
fn transparency_survives_in_webp_and_png() {
    let tmp = build_photos();
    for file in [
        output(tmp.path(), "logo-300.", ".webp"),
        output(tmp.path(), "logo-300.", ".png"),
    ] {
        let img = decode(&file);
        assert!(img.color().has_alpha(), "{} lost its alpha channel", file.display());
        let corner = img.get_pixel(5, 5);
        let centre = img.get_pixel(150, 150);
        assert_eq!(
            corner[3],
            0,
            "{}: the corner must stay transparent, not black",
            file.display()
        );
        assert!(
            centre[3] > 250 && centre[1] > 120 && centre[0] < 60,
            "{}: centre {centre:?}",
            file.display()
        );
    }
}

#[test]
fn cmyk_and_16_bit_sources_are_converted() {
    let tmp = build_photos();
    let cmyk = decode(&output(tmp.path(), "cmyk-400.", ".webp")).get_pixel(200, 100);
    assert!(
        cmyk[0] < 120 && cmyk[1] > 150 && cmyk[2] > 150,
        "cyan expected, got {cmyk:?}"
    );
    let deep = decode(&output(tmp.path(), "deep-400.", ".jpg")).get_pixel(100, 100);
    // 40000 / 65535 of full scale ≈ 156.
    assert!(
        (146..=166).contains(&deep[0]) && deep[0].abs_diff(deep[2]) < 6,
        "grey ≈156 expected, got {deep:?}"
    );
}

#[test]
fn unchanged_site_encodes_nothing_and_a_changed_photo_only_itself() {
    let tmp = site_in_temp("valid/photos");
    let themes = themes();
    let args = ["build", "--themes", themes.to_str().expect("utf8")];
    let first = chalet(tmp.path(), &args);
    assert!(
        first.stdout.contains("4 images (15 derivatives encoded)"),
        "{}",
        first.stdout
    );
    let second = chalet(tmp.path(), &args);
    assert!(
        second.stdout.contains("(0 derivatives encoded), 0 files written"),
        "{}",
        second.stdout
    );

    // A new photo under the same name: only its 4 derivatives are made; the old ones are pruned.
    let cmyk = tmp.path().join("content/chalets/photos/products/cmyk.jpg");
    image::RgbImage::from_pixel(640, 400, image::Rgb([250, 200, 0]))
        .save(&cmyk)
        .expect("save");
    let third = chalet(tmp.path(), &args);
    assert!(third.stdout.contains("(4 derivatives encoded)"), "{}", third.stdout);
    let cached = std::fs::read_dir(tmp.path().join(".cache/chalet/images"))
        .expect("cache")
        .count();
    assert_eq!(
        cached, 15,
        "the 15 in use; the old photo's 4 derivatives were pruned (19 otherwise)"
    );
    let yellow = decode(&output(tmp.path(), "cmyk-640.", ".webp")).get_pixel(10, 10);
    assert!(yellow[0] > 200 && yellow[2] < 80, "the new photo is served: {yellow:?}");
}

#[test]
fn two_chalets_with_the_same_photo_share_whole_derivatives() {
    // A chalet copied from another: both covers have the same bytes, so the same derivatives.
    // Written twice, the second write once went through a hard link onto the cached file and
    // emptied it, in the site and in the cache.
    let tmp = site_in_temp("valid/minimal");
    let dir = tmp.path();
    let copy = dir.join("content/chalets/lampes-du-quai");
    copy_dir(&dir.join("content/chalets/cire-et-meche"), &copy);
    let yaml = copy.join("chalet.yaml");
    std::fs::write(&yaml, read(&yaml).replace("Cire & Mèche", "Lampes du Quai")).expect("write");
    let themes = themes();
    let run = chalet(dir, &["build", "--themes", themes.to_str().expect("utf8")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for folder in ["dist/images", ".cache/chalet/images"] {
        let files: Vec<PathBuf> = std::fs::read_dir(dir.join(folder))
            .expect("images")
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(!files.is_empty(), "{folder} is empty");
        for f in files {
            let (w, h) = decode(&f).dimensions();
            assert!(w > 0 && h > 0, "{}", f.display());
        }
    }
    // One file, named by both photos' lines of the manifest (a photo's derivatives are one line).
    let cover_jpgs: Vec<String> = std::fs::read_dir(dir.join("dist/images"))
        .expect("images")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cover-") && n.ends_with(".jpg"))
        .collect();
    assert_eq!(cover_jpgs.len(), 1, "{cover_jpgs:?}");
    let manifest = read(&dir.join("dist/.chalet-manifest"));
    let naming: Vec<&str> = manifest
        .lines()
        .filter(|l| l.split(['\t', ' ']).any(|f| f == format!("images/{}", cover_jpgs[0])))
        .collect();
    assert_eq!(naming.len(), 2, "{manifest}");
    assert!(naming.iter().all(|l| l.contains("\t@chalets/")), "{naming:?}");
}
