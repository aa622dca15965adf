//! A build whose inputs are those of the last one, and whose output is as that build left it,
//! has nothing to do: it says so after listing the folders (the way `make` and Ninja answer
//! "no work to do"), and repeats the last build's warnings and numbers.
//!
//! What a build reads, all of it in one hash taken when the content folder is listed ([`Inputs`]):
//! this program (its size and time: a new `chalet` may render differently), the options
//! (every path made absolute, the address overrides), every content file's path, size and
//! modification time (the refused ones with why), and every file of the themes folder and of
//! `content/templates`. What it leaves ([`outputs`]): the output's manifest and the incremental
//! state beside the image cache (pages, lists, validated chalets), by size and time — a state
//! deleted or damaged by hand is a reason to build, as it is for the incremental build.
//!
//! The record is kept only when every input was older than [`RACY_NS`] at listing time: a file
//! changed within the same clock tick as the listing would keep its stamp.

use crate::build::{BuildOptions, BuildReport};
use crate::diagnostic::Diagnostic;
use crate::load::ContentFiles;
use crate::validate::reuse::RACY_NS;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xxhash_rust::xxh3::Xxh3;

const FORMAT: &str = "chalet-up-to-date 1";

/// The hash of everything a build reads, and whether it may be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inputs {
    hash: u128,
    /// Every input was older than [`RACY_NS`] when listed.
    settled: bool,
}

impl Inputs {
    /// What a build with `opts` reads, `files` being the content folder as just listed.
    pub fn of(opts: &BuildOptions, files: &ContentFiles) -> Inputs {
        let mut h = Xxh3::new();
        let mut newest = i128::MIN;
        let mut add = |h: &mut Xxh3, tag: &str, rel: &str, len: u64, mtime_ns: i128| {
            field(h, tag.as_bytes());
            field(h, rel.as_bytes());
            h.update(&len.to_le_bytes());
            h.update(&mtime_ns.to_le_bytes());
            newest = newest.max(mtime_ns);
        };
        field(&mut h, FORMAT.as_bytes());
        // This program: a new `chalet` may render differently. Not a racy input (it is replaced
        // whole, never edited in place), so its time is not counted in `newest`.
        match std::env::current_exe().and_then(std::fs::metadata) {
            Ok(m) => {
                field(&mut h, &m.len().to_le_bytes());
                field(&mut h, &crate::fs::mtime_ns(&m).to_le_bytes());
            }
            // Not knowing which program this is, nothing is taken as done.
            Err(_) => {
                return Inputs {
                    hash: 0,
                    settled: false,
                };
            }
        }
        field(&mut h, options(opts).as_bytes());
        for (rel, m) in &files.text_stamps {
            add(&mut h, "text", rel, m.len, m.mtime_ns);
        }
        for (rel, m) in &files.others {
            add(&mut h, "file", rel, m.len, m.mtime_ns);
        }
        for r in &files.refused {
            field(&mut h, b"refused");
            field(&mut h, r.rel.as_bytes());
            field(&mut h, r.message.as_bytes());
        }
        for (tag, dir) in [
            ("theme", opts.themes_dir()),
            ("template", opts.content.join("templates")),
        ] {
            for (rel, len, mtime_ns) in tree(&dir) {
                add(&mut h, tag, &rel, len, mtime_ns);
            }
        }
        Inputs {
            hash: h.digest128(),
            settled: newest < files.scanned_ns - RACY_NS,
        }
    }
}

/// What decides the output besides the files, every path absolute.
fn options(opts: &BuildOptions) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    format!(
        "{:?}",
        (
            abs(&opts.content),
            abs(&opts.out),
            abs(&opts.themes_dir()),
            abs(&opts.cache_dir()),
            &opts.checkout_url,
            opts.base_url.as_ref().map(|u| u.to_string()),
        )
    )
}

/// A value's bytes with their length first (`ab`+`c` and `a`+`bc` differ).
fn field(h: &mut Xxh3, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// Every file under `dir` (links followed), `/`-separated and sorted, with its size and time.
fn tree(dir: &Path) -> Vec<(String, u64, i128)> {
    let mut out = Vec::new();
    let mut todo = vec![(dir.to_path_buf(), String::new())];
    while let Some((dir, rel)) = todo.pop() {
        let Ok(list) = std::fs::read_dir(&dir) else { continue };
        for e in list.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            match std::fs::metadata(e.path()) {
                Ok(m) if m.is_dir() => todo.push((e.path(), rel)),
                Ok(m) => out.push((rel, m.len(), crate::fs::mtime_ns(&m))),
                Err(_) => out.push((rel, u64::MAX, 0)),
            }
        }
    }
    out.sort_unstable();
    out
}

/// The files the last build left beside its output and in the cache, by size and time.
fn outputs(opts: &BuildOptions) -> u128 {
    let cache = opts.cache_dir();
    let mut h = Xxh3::new();
    let paths: [PathBuf; 4] = [
        opts.out.join(crate::write::MANIFEST),
        crate::render::memo::state_path(&cache, &opts.out, "pages"),
        crate::render::memo::state_path(&cache, &opts.out, "lists"),
        crate::validate::reuse::ChaletMemo::new(&cache, &opts.content)
            .dir()
            .to_path_buf(),
    ];
    for p in paths {
        match std::fs::metadata(&p) {
            Ok(m) => {
                h.update(&m.len().to_le_bytes());
                h.update(&crate::fs::mtime_ns(&m).to_le_bytes());
            }
            Err(_) => h.update(b"none"),
        }
    }
    h.digest128()
}

/// `<cache>/built-<hash of the output's absolute path>.state`.
fn record_path(opts: &BuildOptions) -> PathBuf {
    let out = std::path::absolute(&opts.out).unwrap_or_else(|_| opts.out.clone());
    let id = xxhash_rust::xxh3::xxh3_64(out.as_os_str().as_encoded_bytes());
    opts.cache_dir().join(format!("built-{id:016x}.state"))
}

/// The last build's report, when its inputs were `inputs` and its output is as it left it.
pub fn replay(opts: &BuildOptions, inputs: &Inputs, started: Instant) -> Option<BuildReport> {
    if !inputs.settled {
        return None;
    }
    let text = std::fs::read_to_string(record_path(opts)).ok()?;
    let mut lines = text.splitn(5, '\n');
    let hex = |l: Option<&str>| l.and_then(|l| u128::from_str_radix(l, 16).ok());
    if lines.next() != Some(FORMAT)
        || hex(lines.next()) != Some(inputs.hash)
        || hex(lines.next()) != Some(outputs(opts))
    {
        return None;
    }
    let counts: Vec<usize> = lines.next()?.split(' ').filter_map(|n| n.parse().ok()).collect();
    let [chalets, products, pages, images] = counts[..] else {
        return None;
    };
    let warnings: Vec<Diagnostic> = serde_json::from_str(lines.next()?).ok()?;
    Some(BuildReport {
        chalets,
        products,
        pages,
        rendered: 0,
        validated: 0,
        lists: 0,
        full_render: None,
        changed: Vec::new(),
        images,
        images_encoded: 0,
        written: 0,
        warnings,
        up_to_date: true,
        timings: vec![("up to date", started.elapsed())],
        elapsed: started.elapsed(),
    })
}

/// Keeps what a successful build read and left, for the next to compare with; a build whose
/// inputs were not settled removes the last record instead.
pub fn record(opts: &BuildOptions, inputs: &Inputs, report: &BuildReport) {
    let path = record_path(opts);
    if !inputs.settled {
        let _ = std::fs::remove_file(&path);
        return;
    }
    let Ok(warnings) = serde_json::to_string(&report.warnings) else {
        return;
    };
    let text = format!(
        "{FORMAT}\n{:032x}\n{:032x}\n{} {} {} {}\n{warnings}",
        inputs.hash,
        outputs(opts),
        report.chalets,
        report.products,
        report.pages,
        report.images
    );
    if crate::fs::write_atomic(&path, text.as_bytes()).is_err() {
        let _ = std::fs::remove_file(&path);
    }
}
