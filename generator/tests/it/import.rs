//! `chalet import`: an artisan's zip taken in after every check, hostile archives refused with
//! the content folder left exactly as it was. Zips are written byte by byte here, so a test can
//! say anything a forged archive can (names, modes, sizes, overlapping entries).

use crate::common::{chalet, copy_dir, fixture, read, repo, site_in_temp};
use sha2::Digest;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

struct Raw {
    name: String,
    data: Vec<u8>,
    deflate: bool,
    /// Unix mode (file type and permissions), as zip tools store it.
    mode: u32,
}

fn file(name: &str, data: impl Into<Vec<u8>>) -> Raw {
    Raw {
        name: name.to_string(),
        data: data.into(),
        deflate: false,
        mode: 0o100644,
    }
}

/// A zip as the format describes it (local headers, central directory, end record); `aliases`
/// adds central entries pointing at the first local header under other names (overlap).
fn zip_bytes(entries: &[Raw], aliases: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let mut count = 0u16;
    let mut first = None;
    for e in entries {
        let mut crc = flate2::Crc::new();
        crc.update(&e.data);
        let body = if e.deflate {
            let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&e.data).expect("deflate");
            enc.finish().expect("deflate")
        } else {
            e.data.clone()
        };
        let method: u16 = if e.deflate { 8 } else { 0 };
        let offset = out.len() as u32;
        let head = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend_from_slice(&((3u16 << 8) | 20).to_le_bytes()); // made by Unix
            }
            for v in [20u16, 0x0800, method, 0, 0x21] {
                h.extend_from_slice(&v.to_le_bytes());
            }
            for v in [crc.sum(), body.len() as u32, e.data.len() as u32] {
                h.extend_from_slice(&v.to_le_bytes());
            }
            h.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h
        };
        out.extend(head(0x04034b50, false));
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(&body);
        let mut c = head(0x02014b50, true);
        c.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        c.extend_from_slice(&(e.mode << 16).to_le_bytes());
        c.extend_from_slice(&offset.to_le_bytes());
        let with_name = |name: &str| [c.clone(), name.as_bytes().to_vec()].concat();
        central.extend(with_name(&e.name));
        count += 1;
        if first.is_none() {
            first = Some(with_name(""));
        }
    }
    for alias in aliases {
        // Same header, same offset, another name: one block counted twice.
        let mut c = first.clone().expect("an entry to alias");
        c[28..30].copy_from_slice(&(alias.len() as u16).to_le_bytes());
        c.extend_from_slice(alias.as_bytes());
        central.extend(c);
        count += 1;
    }
    let at = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x06054b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&[0; 2]);
    out
}

/// A phone's JPEG: the encoder's, with an EXIF block holding a GPS position.
fn phone_photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut plain)
        .encode_image(&img)
        .expect("jpeg");
    let exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\0\0\0\0\0GPSLatitude 50.6326 N";
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(exif);
    out.extend_from_slice(&plain[2..]);
    out
}

/// An artisan's chalet as the form or a person zips it: one folder with a name that is not a
/// slug, a product file name that is not one either, a phone photo.
fn chalet_files(folder: &str) -> Vec<Raw> {
    let src = fixture("valid/minimal/content/chalets/cire-et-meche");
    let yaml = read(&src.join("chalet.yaml")).replace("Cire & Mèche", "Chez Lina");
    vec![
        file(&format!("{folder}/chalet.yaml"), yaml),
        file(&format!("{folder}/about.md"), read(&src.join("about.md"))),
        file(
            &format!("{folder}/cover.png"),
            std::fs::read(src.join("cover.png")).expect("cover"),
        ),
        file(
            &format!("{folder}/products/Bougie Étoile.md"),
            "---\nname: \"Bougie étoile\"\nprice: \"12.50\"\nstock: 3\nimages:\n  - src: etoile.jpg\n    alt: \"Une bougie en étoile\"\n---\nCoulée main.\n",
        ),
        file(&format!("{folder}/products/etoile.jpg"), phone_photo()),
    ]
}

/// Every file *and folder* under `dir`, hidden ones included: a left-over staging folder shows.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("walk"))
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            let bytes = if e.file_type().is_file() {
                std::fs::read(e.path()).expect("read")
            } else {
                b"<dir>".to_vec()
            };
            (rel, bytes)
        })
        .collect()
}

fn market() -> tempfile::TempDir {
    let site = site_in_temp("valid/minimal");
    copy_dir(&repo().join("themes"), &site.path().join("themes"));
    site
}

#[test]
fn an_artisan_s_zip_is_tidied_imported_and_on_the_square() {
    let site = market();
    let zip = site.path().join("Chez Lina.zip");
    std::fs::write(&zip, zip_bytes(&chalet_files("Chez Lina"), &[])).expect("zip");
    // An application's zip is taken only with the SHA-256 recorded when it was sent.
    let bytes = std::fs::read(&zip).expect("zip");
    let recorded: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let other = "0".repeat(64);
    let wrong = chalet(site.path(), &["import", "Chez Lina.zip", "--sha256", &other]);
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    assert!(
        wrong
            .stderr
            .contains(&format!("has SHA-256 {recorded}, not the {other} recorded")),
        "{}",
        wrong.stderr
    );
    let run = chalet(site.path(), &["import", "Chez Lina.zip", "--sha256", &recorded]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("named the chalet `chez-lina`"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("renamed products/Bougie Étoile.md to products/bougie-etoile.md"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("products/etoile.jpg: removed EXIF"),
        "{}",
        run.stdout
    );
    let dir = site.path().join("content/chalets/chez-lina");
    let photo = std::fs::read(dir.join("products/etoile.jpg")).expect("photo imported");
    assert!(
        !photo.windows(11).any(|w| w == b"GPSLatitude"),
        "the GPS position reached the content folder"
    );
    let same = image::load_from_memory(&photo).expect("still a JPEG").to_rgb8();
    assert_eq!(
        same,
        image::load_from_memory(&phone_photo()).expect("decodes").to_rgb8()
    );
    assert!(dir.join("products/bougie-etoile.md").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(site.path().join("content/chalets"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let build = chalet(site.path(), &["build"]);
    assert_eq!(build.code, 0, "{}", build.stderr);
    let square = read(&site.path().join("dist/index.html"));
    assert!(square.contains("Chez Lina"), "the new chalet is not on the square");
    assert!(
        site.path()
            .join("dist/chalets/chez-lina/bougie-etoile/index.html")
            .is_file()
    );

    // A second import of the same chalet is refused, unless it replaces.
    let again = chalet(site.path(), &["import", "Chez Lina.zip"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("already exists: add --replace"),
        "{}",
        again.stderr
    );
    let mut changed = chalet_files("Chez Lina");
    changed.retain(|f| !f.name.contains("Bougie"));
    changed.push(file(
        "Chez Lina/products/fondant.md",
        "---\nname: Fondant\nprice: \"4.00\"\nstock: 9\n---\n",
    ));
    std::fs::write(&zip, zip_bytes(&changed, &[])).expect("zip");
    let replaced = chalet(site.path(), &["import", "Chez Lina.zip", "--replace"]);
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    assert!(
        replaced.stdout.contains("replaced chalet `chez-lina`"),
        "{}",
        replaced.stdout
    );
    assert!(dir.join("products/fondant.md").is_file());
    assert!(
        !dir.join("products/bougie-etoile.md").exists(),
        "a replaced chalet keeps no old file"
    );
}

#[test]
fn a_chalet_with_mistakes_is_refused_with_check_s_words_at_its_path_in_the_zip() {
    let site = market();
    let mut files = chalet_files("lina");
    files.retain(|f| !f.name.contains("Bougie"));
    files[0].data = String::from_utf8(files[0].data.clone())
        .expect("utf-8")
        .replace("category: bougies", "category: bougie")
        .into_bytes();
    files.push(file("lina/products/sans-prix.md", "---\nname: Sans prix\n---\n"));
    std::fs::write(site.path().join("lina.zip"), zip_bytes(&files, &[])).expect("zip");
    let before = snapshot(&site.path().join("content"));
    let run = chalet(site.path(), &["import", "lina.zip"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("lina.zip/lina/chalet.yaml:4:11: category `bougie` is not declared"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("lina.zip/lina/products/sans-prix.md:"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Nothing was imported"), "{}", run.stderr);
    assert_eq!(before, snapshot(&site.path().join("content")));

    // The same words as `chalet check` gives once the folder is in the content.
    let check_site = market();
    let dir = check_site.path().join("content/chalets/lina");
    for f in &files {
        let rel = f.name.strip_prefix("lina/").expect("in lina/");
        std::fs::create_dir_all(dir.join(rel).parent().expect("parent")).expect("mkdir");
        std::fs::write(dir.join(rel), &f.data).expect("write");
    }
    let check = chalet(check_site.path(), &["check"]);
    let messages = |out: &str, prefix: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(str::to_string)
            .collect()
    };
    let from_check = messages(&check.stderr, "content/chalets/lina/");
    let from_import = messages(&run.stderr, "lina.zip/lina/");
    assert!(!from_check.is_empty());
    assert_eq!(from_import, from_check);
}

#[test]
fn hostile_archives_are_refused_whole_and_the_content_folder_is_untouched() {
    let site = market();
    let content = site.path().join("content");
    let before = snapshot(&content);
    let bomb = Raw {
        deflate: true,
        ..file("x/products/bombe.jpg", vec![0u8; 20 * 1024 * 1024])
    };
    let link = Raw {
        mode: 0o120777,
        ..file("x/products/lien.jpg", "/etc/passwd")
    };
    let many: Vec<Raw> = (0..10_000).map(|i| file(&format!("x/products/p{i}.md"), "")).collect();
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(256, 0);
    let png_named_jpg = std::fs::read(fixture("valid/minimal/content/chalets/cire-et-meche/cover.png")).expect("png");
    let cases: Vec<(&str, Vec<Raw>, Vec<&str>, &str)> = vec![
        (
            "traversal",
            vec![file("x/../../evil.md", "# evil")],
            vec![],
            "x/../../evil.md:1:1: climbs out of the chalet folder",
        ),
        (
            "absolute",
            vec![file("/etc/cron.d/evil.md", "# evil")],
            vec![],
            "/etc/cron.d/evil.md:1:1: is an absolute path",
        ),
        (
            "drive",
            vec![file("C:/evil.md", "# evil")],
            vec![],
            "C:/evil.md:1:1: starts with a drive letter",
        ),
        (
            "symlink",
            vec![link],
            vec![],
            "x/products/lien.jpg:1:1: is a symbolic link",
        ),
        (
            "ratio bomb",
            vec![bomb],
            vec![],
            "x/products/bombe.jpg:1:1: inflates 20971520 bytes",
        ),
        (
            "overlap bomb",
            vec![],
            vec!["x/a.md", "x/b.md"],
            "has entries that overlap one another",
        ),
        (
            "10,000 entries",
            many,
            vec![],
            "holds 10005 entries; a chalet may hold at most 1000",
        ),
        (
            "executable",
            vec![file("x/install.sh", "#!/bin/sh\nrm -rf ~\n")],
            vec![],
            "x/install.sh:1:1: is a `.sh` file",
        ),
        (
            "program as photo",
            vec![file("x/products/photo.jpg", elf)],
            vec![],
            "x/products/photo.jpg:1:1: is a program (Linux ELF)",
        ),
        (
            "wrong type",
            vec![file("x/products/photo.jpg", png_named_jpg)],
            vec![],
            "x/products/photo.jpg:1:1: is a png image named as a .jpg",
        ),
        (
            "document",
            vec![file("x/tarifs.docx", "PK")],
            vec![],
            "x/tarifs.docx:1:1: is a `.docx` file",
        ),
        (
            "outside the chalet",
            vec![file("autre/lisez-moi.md", "hello")],
            vec![],
            "autre/lisez-moi.md:1:1: is outside the chalet folder `x/`",
        ),
        (
            "case twins",
            vec![file("x/About.md", "Hello")],
            vec![],
            "x/About.md:1:1: differs from `x/about.md` only by case",
        ),
    ];
    for (what, extra, aliases, expected) in cases {
        let mut entries = chalet_files("x");
        entries.extend(extra);
        let zip = site.path().join("hostile.zip");
        std::fs::write(&zip, zip_bytes(&entries, &aliases)).expect("zip");
        let run = chalet(site.path(), &["import", "hostile.zip"]);
        assert_eq!(run.code, 1, "{what}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains(&format!("hostile.zip/{expected}"))
                || run.stderr.contains(&format!("hostile.zip:1:1: {expected}")),
            "{what}: expected `{expected}` in\n{}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("Nothing was imported: the content folder is unchanged."),
            "{what}"
        );
        assert_eq!(before, snapshot(&content), "{what}: the content folder changed");
    }
}

#[test]
fn a_folder_is_imported_too_and_its_links_are_refused() {
    let site = market();
    let folder = site.path().join("envoi/Chez Lina");
    for f in chalet_files("Chez Lina") {
        let path = site.path().join("envoi").join(&f.name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, f.data).expect("write");
    }
    std::fs::write(folder.join(".DS_Store"), b"\0\0\0\x01Bud1").expect("junk");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/passwd", folder.join("products/secret.jpg")).expect("link");
        let before = snapshot(&site.path().join("content"));
        let run = chalet(site.path(), &["import", "envoi"]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr
                .contains("envoi/Chez Lina/products/secret.jpg:1:1: is a symbolic link"),
            "{}",
            run.stderr
        );
        assert_eq!(before, snapshot(&site.path().join("content")));
        std::fs::remove_file(folder.join("products/secret.jpg")).expect("unlink");
    }
    let run = chalet(site.path(), &["import", "envoi", "--slug", "lina"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("left out Chez Lina/.DS_Store"), "{}", run.stdout);
    assert!(site.path().join("content/chalets/lina/chalet.yaml").is_file());
    assert!(!site.path().join("content/chalets/lina/.DS_Store").exists());
}

/// `chalet import <application-id>` hands the fetch to `checkout-fn`; when that cannot run or
/// refuses, the organiser reads why and nothing is imported. (The whole way — sent online,
/// paid, fetched, imported — is the browser test's, e2e/apply.test.cjs, on the real peers.)
#[test]
fn an_application_that_cannot_be_fetched_imports_nothing() {
    let site = market();
    let before = snapshot(&site.path().join("content"));
    let id = "0123456789abcdef0123456789abcdef";
    let run = |program: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chalet"))
            .current_dir(site.path())
            .args(["import", id])
            .env("CHALET_CHECKOUT_FN", program)
            .output()
            .expect("chalet runs");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run("/nonexistent/checkout-fn");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("could not be run to fetch application") && err.contains("CHALET_CHECKOUT_FN"),
        "{err}"
    );
    // `false` runs and fails: its (empty) word is passed on.
    let (code, err) = run("false");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("application {id} could not be fetched")), "{err}");
    assert_eq!(snapshot(&site.path().join("content")), before);
    // Not an id, not a file: the usual "no such file", not a fetch.
    let out = chalet(site.path(), &["import", "lina.zip"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!out.stderr.contains("fetch"), "{}", out.stderr);
}
