//! Reading an artisan's chalet — a zip or a folder — into memory, refusing what a chalet never
//! holds before a byte of it reaches the content folder.
//!
//! Every archive is hostile until read: names that climb out (`../`, `/etc`, `C:\`), links,
//! bombs (a small file that inflates to gigabytes, or entries that overlap so one compressed
//! block is counted many times), floods of entries, programs. Sizes are checked on what the
//! archive declares *and* on what is read (a declared size can lie), and nothing is read past
//! the caps, so a refused archive costs at most the caps in memory and time.

use crate::load::MAX_TEXT_BYTES;
use crate::validate::paths::{IMAGE_EXTENSIONS, MAX_IMAGE_BYTES};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use unicode_normalization::UnicodeNormalization;

/// How much one chalet may bring.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Entries in the archive, folders and left-out files included.
    pub entries: usize,
    /// Bytes of all files, uncompressed.
    pub total: u64,
    /// Uncompressed ÷ compressed, for entries larger than [`Limits::ratio_from`]: photos barely
    /// compress, text ~4:1; a bomb's entries are ~1,000:1.
    pub ratio: u64,
    pub ratio_from: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            entries: 1_000,
            total: 256 * 1024 * 1024,
            ratio: 100,
            ratio_from: 64 * 1024,
        }
    }
}

/// One file of the chalet, by its `/`-separated path inside the archive (NFC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub data: Vec<u8>,
}

/// Something in the archive that cannot be taken, by its path inside the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    fn new(path: &str, message: impl Into<String>, hint: Option<&str>) -> Problem {
        Problem {
            path: path.to_string(),
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }
}

/// What was read: the files, and what was left out on purpose (a Mac's `__MACOSX/`, hidden
/// files), each said to the organiser.
#[derive(Clone, Debug, Default)]
pub struct Archive {
    pub entries: Vec<Entry>,
    pub left_out: Vec<String>,
}

const TEXT_EXTENSIONS: [&str; 5] = ["yaml", "yml", "md", "markdown", "mdown"];
const KINDS_HINT: &str =
    "a chalet folder holds chalet.yaml, about.md, products/*.md and photos (.jpg, .png, .webp, .gif)";

/// Reads a zip archive.
pub fn read_zip(path: &Path, limits: &Limits) -> Result<Archive, Vec<Problem>> {
    let whole = |message: String, hint: Option<&str>| vec![Problem::new("", message, hint)];
    let file = std::fs::File::open(path).map_err(|e| whole(format!("cannot be read: {e}"), None))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        whole(
            format!("is not a zip archive: {e}"),
            Some("make the zip again from the chalet folder"),
        )
    })?;
    if zip.len() > limits.entries {
        return Err(whole(
            format!(
                "holds {} entries; a chalet may hold at most {}",
                zip.len(),
                limits.entries
            ),
            None,
        ));
    }
    // The non-recursive zip bomb (Fifield, 2019): many entries pointing into one compressed block.
    // No honest zip tool writes entries that share bytes.
    if zip.has_overlapping_entries().unwrap_or(true) {
        return Err(whole(
            "has entries that overlap one another (a zip bomb): refused whole".into(),
            Some("make the zip again with an ordinary zip tool"),
        ));
    }
    let mut problems = Vec::new();
    let mut archive = Archive::default();
    let mut seen = Seen::default();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let (name, declared) = {
            let f = match zip.by_index_raw(i) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(Problem::new(&format!("#{i}"), format!("cannot be read: {e}"), None));
                    continue;
                }
            };
            let name = String::from_utf8_lossy(f.name_raw()).into_owned();
            let Some(path) = accept_name(&name, &mut problems, &mut archive.left_out) else {
                continue;
            };
            if f.is_dir() {
                continue;
            }
            let link = f.is_symlink() || f.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000);
            if link {
                problems.push(Problem::new(
                    &path,
                    "is a symbolic link",
                    Some("put the file itself in the zip"),
                ));
                continue;
            }
            if f.encrypted() {
                problems.push(Problem::new(
                    &path,
                    "is encrypted",
                    Some("make the zip without a password"),
                ));
                continue;
            }
            let (size, packed) = (f.size(), f.compressed_size());
            if size > limits.ratio_from && size / packed.max(1) > limits.ratio {
                problems.push(Problem::new(
                    &path,
                    format!(
                        "inflates {size} bytes from {packed} (more than {}:1): a zip bomb",
                        limits.ratio
                    ),
                    None,
                ));
                continue;
            }
            (path, size)
        };
        if !seen.admit(&name, &mut problems) || !kind_allowed(&name, declared, &mut problems) {
            continue;
        }
        total = total.saturating_add(declared);
        if total > limits.total {
            problems.push(Problem::new(
                &name,
                format!("brings the archive past {} MB uncompressed", limits.total / 1024 / 1024),
                None,
            ));
            break;
        }
        let mut data = Vec::new();
        let read = zip
            .by_index(i)
            .map_err(|e| e.to_string())
            .and_then(|f| f.take(declared + 1).read_to_end(&mut data).map_err(|e| e.to_string()));
        match read {
            Err(e) => problems.push(Problem::new(&name, format!("cannot be read: {e}"), None)),
            Ok(_) if data.len() as u64 != declared => problems.push(Problem::new(
                &name,
                format!(
                    "holds {} bytes but the archive says {declared}: damaged or forged",
                    data.len()
                ),
                None,
            )),
            Ok(_) => archive.entries.push(Entry { path: name, data }),
        }
    }
    finish(archive, problems)
}

/// Reads a folder (links and special files refused, hidden files left out).
pub fn read_folder(dir: &Path, limits: &Limits) -> Result<Archive, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut archive = Archive::default();
    let mut seen = Seen::default();
    let mut total = 0u64;
    let mut count = 0usize;
    let walk = walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name();
    for entry in walk.into_iter().skip(1) {
        count += 1;
        if count > limits.entries {
            problems.push(Problem::new(
                "",
                format!("holds more than {} files", limits.entries),
                None,
            ));
            break;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem::new("", format!("cannot be read: {e}"), None));
                continue;
            }
        };
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let name: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let name = name.join("/");
        let ft = entry.file_type();
        let Some(path) = accept_name(&name, &mut problems, &mut archive.left_out) else {
            continue;
        };
        if ft.is_symlink() {
            problems.push(Problem::new(
                &path,
                "is a symbolic link",
                Some("copy the file itself here"),
            ));
            continue;
        }
        if ft.is_dir() {
            continue;
        }
        if !ft.is_file() {
            problems.push(Problem::new(&path, "is not an ordinary file", None));
            continue;
        }
        let size = entry.metadata().map_or(0, |m| m.len());
        if !seen.admit(&path, &mut problems) || !kind_allowed(&path, size, &mut problems) {
            continue;
        }
        total = total.saturating_add(size);
        if total > limits.total {
            problems.push(Problem::new(
                &path,
                format!("brings the folder past {} MB", limits.total / 1024 / 1024),
                None,
            ));
            break;
        }
        let mut data = Vec::new();
        let read = std::fs::File::open(entry.path()).and_then(|f| f.take(size + 1).read_to_end(&mut data));
        match read {
            Err(e) => problems.push(Problem::new(&path, format!("cannot be read: {e}"), None)),
            Ok(_) if data.len() as u64 != size => {
                problems.push(Problem::new(
                    &path,
                    "changed while it was being read",
                    Some("try again"),
                ));
            }
            Ok(_) => archive.entries.push(Entry { path, data }),
        }
    }
    finish(archive, problems)
}

fn finish(archive: Archive, mut problems: Vec<Problem>) -> Result<Archive, Vec<Problem>> {
    for e in &archive.entries {
        if let Err((message, hint)) = content_matches(&e.path, &e.data) {
            problems.push(Problem::new(&e.path, message, Some(&hint)));
        }
    }
    if problems.is_empty() {
        Ok(archive)
    } else {
        Err(problems)
    }
}

/// The name as a safe `/`-separated relative path, `None` when refused (pushed to `problems`)
/// or left out on purpose (pushed to `left_out`).
fn accept_name(raw: &str, problems: &mut Vec<Problem>, left_out: &mut Vec<String>) -> Option<String> {
    let shown = crate::diagnostic::escape_controls(raw).into_owned();
    let refuse = |problems: &mut Vec<Problem>, message: &str| {
        problems.push(Problem::new(
            &shown,
            message,
            Some("the archive must hold the chalet folder's own files, by relative paths"),
        ));
        None
    };
    if raw.chars().any(char::is_control) {
        return refuse(problems, "has control characters in its name");
    }
    if raw.contains('\\') {
        return refuse(problems, "has a backslash in its name (a Windows path)");
    }
    if raw.starts_with('/') {
        return refuse(problems, "is an absolute path");
    }
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return refuse(problems, "starts with a drive letter");
    }
    let trimmed = raw.strip_suffix('/').unwrap_or(raw);
    let parts: Vec<&str> = trimmed.split('/').collect();
    if parts.iter().any(|p| *p == ".." || *p == "." || p.is_empty()) {
        return refuse(problems, "climbs out of the chalet folder (`..`, `.` or an empty part)");
    }
    let junk = |p: &&str| {
        p.starts_with('.')
            || *p == "__MACOSX"
            || p.eq_ignore_ascii_case("thumbs.db")
            || p.eq_ignore_ascii_case("desktop.ini")
    };
    if parts.iter().any(junk) {
        if !raw.ends_with('/') {
            left_out.push(shown);
        }
        return None;
    }
    Some(trimmed.nfc().collect())
}

/// Names already taken, compared as a case-insensitive file system would.
#[derive(Default)]
struct Seen(BTreeMap<String, String>);

impl Seen {
    fn admit(&mut self, path: &str, problems: &mut Vec<Problem>) -> bool {
        let key = path.to_lowercase();
        if let Some(first) = self.0.get(&key) {
            let message = if first == path {
                "appears twice in the archive".to_string()
            } else {
                format!("differs from `{first}` only by case: one would overwrite the other on Windows and macOS")
            };
            problems.push(Problem::new(path, message, None));
            return false;
        }
        self.0.insert(key, path.to_string());
        true
    }
}

fn extension(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Only the kinds of file a chalet holds, each within its size.
fn kind_allowed(path: &str, size: u64, problems: &mut Vec<Problem>) -> bool {
    let ext = extension(path);
    let cap = if TEXT_EXTENSIONS.contains(&ext.as_str()) {
        MAX_TEXT_BYTES
    } else if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        MAX_IMAGE_BYTES
    } else {
        let what = if ext.is_empty() {
            "a file without an extension".to_string()
        } else {
            format!("a `.{ext}` file")
        };
        problems.push(Problem::new(
            path,
            format!("is {what}, which a chalet does not use"),
            Some(KINDS_HINT),
        ));
        return false;
    };
    if size > cap {
        problems.push(Problem::new(
            path,
            format!(
                "is {size} bytes; this kind of file may have at most {} MB",
                cap / 1024 / 1024
            ),
            Some("photos are downscaled by the site: send them at most 2,400 pixels wide"),
        ));
        return false;
    }
    true
}

/// The bytes are what the name says: text is UTF-8, a photo starts as its format does, and no
/// program hides behind a photo's name.
fn content_matches(path: &str, data: &[u8]) -> Result<(), (String, String)> {
    let ext = extension(path);
    let text = TEXT_EXTENSIONS.contains(&ext.as_str());
    // A text may start with anything but a script's `#!`; binary programs are never UTF-8.
    if let Some(program) = program_kind(data).filter(|p| !text || *p == "script") {
        return Err((
            format!("is a program ({program}), not part of a chalet"),
            KINDS_HINT.into(),
        ));
    }
    if text {
        if std::str::from_utf8(data).is_err() || data.contains(&0) {
            return Err(("is not UTF-8 text".into(), "save it as UTF-8 text".into()));
        }
        return Ok(());
    }
    let found = image_kind(data);
    let expected = match ext.as_str() {
        "jpg" | "jpeg" => "jpeg",
        other => other,
    };
    match found {
        Some(kind) if kind == expected => Ok(()),
        Some(kind) => Err((
            format!("is a {kind} image named as a .{ext}"),
            format!("rename it to .{}", if kind == "jpeg" { "jpg" } else { kind }),
        )),
        None => Err(("is not an image in the format its name says".into(), KINDS_HINT.into())),
    }
}

pub fn image_kind(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("webp")
    } else if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        Some("gif")
    } else {
        None
    }
}

fn program_kind(data: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 7] = [
        (b"\x7fELF", "Linux ELF"),
        (b"MZ", "Windows"),
        (b"#!", "script"),
        (&[0xCF, 0xFA, 0xED, 0xFE], "macOS Mach-O"),
        (&[0xCE, 0xFA, 0xED, 0xFE], "macOS Mach-O"),
        (&[0xCA, 0xFE, 0xBA, 0xBE], "macOS universal"),
        (b"\0asm", "WebAssembly"),
    ];
    MAGIC.iter().find(|(m, _)| data.starts_with(m)).map(|(_, what)| *what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(raw: &str) -> (Option<String>, usize, usize) {
        let (mut p, mut l) = (Vec::new(), Vec::new());
        let got = accept_name(raw, &mut p, &mut l);
        (got, p.len(), l.len())
    }

    #[test]
    fn names_that_climb_out_are_refused_and_junk_is_left_out() {
        for bad in [
            "../x.md",
            "a/../../x.md",
            "/etc/passwd",
            "C:/x.md",
            "c:x",
            "a\\b.md",
            "a//b.md",
            "./a.md",
            "a\nb.md",
        ] {
            assert_eq!(name(bad), (None, 1, 0), "{bad:?}");
        }
        assert_eq!(name("__MACOSX/._cover.jpg"), (None, 0, 1));
        assert_eq!(name("chalet/.DS_Store"), (None, 0, 1));
        assert_eq!(name("chalet/"), (Some("chalet".into()), 0, 0));
        // NFD (as a Mac writes) becomes NFC.
        assert_eq!(name("cre\u{301}me.md").0.as_deref(), Some("cr\u{e9}me.md"));
    }

    #[test]
    fn content_must_match_its_name() {
        assert!(content_matches("a.jpg", &[0xFF, 0xD8, 0xFF, 0xE0]).is_ok());
        assert!(
            content_matches("a.png", &[0xFF, 0xD8, 0xFF, 0xE0])
                .expect_err("refused")
                .0
                .contains("jpeg image")
        );
        assert!(
            content_matches("a.jpg", b"\x7fELF\x02\x01")
                .expect_err("refused")
                .0
                .contains("program")
        );
        assert!(
            content_matches("a.md", b"#!/bin/sh\nrm -rf /")
                .expect_err("refused")
                .0
                .contains("program")
        );
        assert!(
            content_matches("a.md", &[0xC3, 0x28])
                .expect_err("refused")
                .0
                .contains("UTF-8")
        );
        assert!(content_matches("a.md", "# Bougies\n".as_bytes()).is_ok());
    }
}
