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
use crate::fingerprint::Fingerprint;
use crate::load::ContentFiles;
use crate::validate::reuse::RACY_NS;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
        const UNKNOWN: Inputs = Inputs {
            hash: 0,
            settled: false,
        };
        let mut h = Fingerprint::default();
        let mut newest = i128::MIN;
        let mut add = |h: &mut Fingerprint, tag: &str, rel: &str, len: u64, mtime_ns: i128| {
            h.add(tag.as_bytes());
            h.add(rel.as_bytes());
            h.add(&len.to_le_bytes());
            h.add(&mtime_ns.to_le_bytes());
            newest = newest.max(mtime_ns);
        };
        h.add(FORMAT.as_bytes());
        // This program: a new `chalet` may render differently. Not a racy input (it is replaced
        // whole, never edited in place), so its time is not counted in `newest`. Not knowing
        // which program this is, nothing is taken as done.
        let Ok(exe) = std::env::current_exe().and_then(std::fs::metadata) else {
            return UNKNOWN;
        };
        h.add(&exe.len().to_le_bytes());
        h.add(&crate::fs::mtime_ns(&exe).to_le_bytes());
        h.add(options(opts).as_bytes());
        // A chalet folder by its stamp, whether or not its products were listed
        // (`load::scan_pruning`); one with a refused file (no stamp), file by file.
        let folders = files.chalet_folders();
        let stamped: std::collections::BTreeMap<&str, crate::load::FolderStamp> = folders
            .iter()
            .filter_map(|&f| Some((f, files.folder_stamp(f)?)))
            .collect();
        let by_stamp = |rel: &str| crate::load::chalet_folder_of(rel).is_some_and(|f| stamped.contains_key(f));
        for (rel, m) in files.text_stamps.iter().filter(|(rel, _)| !by_stamp(rel)) {
            add(&mut h, "text", rel, m.len, m.mtime_ns);
        }
        for (rel, m) in files.others.iter().filter(|(rel, _)| !by_stamp(rel)) {
            add(&mut h, "file", rel, m.len, m.mtime_ns);
        }
        for (folder, stamp) in &stamped {
            add(&mut h, "chalet", folder, 0, stamp.newest_ns);
            h.add(&stamp.digest.to_le_bytes());
        }
        for r in &files.refused {
            h.add(b"refused");
            h.add(r.rel.as_bytes());
            h.add(r.message.as_bytes());
        }
        // The theme's files as the theme loader walks them; a folder it cannot walk (a link in
        // it) leaves nothing to compare with.
        let Ok(theme) = crate::theme::stamps(&[opts.themes_dir(), opts.content.join("templates")]) else {
            return UNKNOWN;
        };
        for (path, len, mtime_ns) in theme {
            add(&mut h, "theme", &path.to_string_lossy(), len, mtime_ns);
        }
        Inputs {
            hash: h.finish(),
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

/// The files the last build left beside its output and in the cache, by size and time.
fn outputs(opts: &BuildOptions) -> u128 {
    let cache = opts.cache_dir();
    let mut h = Fingerprint::default();
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
                h.add(&m.len().to_le_bytes());
                h.add(&crate::fs::mtime_ns(&m).to_le_bytes());
            }
            Err(_) => h.add(b"none"),
        }
    }
    h.finish()
}

/// `<cache>/built-<hash of the output's absolute path>.state`, beside the pages' state.
fn record_path(opts: &BuildOptions) -> PathBuf {
    crate::render::memo::state_path(&opts.cache_dir(), &opts.out, "built")
}

/// The last build's report, when its inputs were `inputs` and its output is as it left it.
pub fn replay(opts: &BuildOptions, inputs: &Inputs, started: Instant) -> Option<BuildReport> {
    if !inputs.settled {
        return None;
    }
    // The header first: the warnings (a megabyte at 20,000 products) are read only when the
    // record is this build's.
    let mut reader = std::io::BufReader::new(std::fs::File::open(record_path(opts)).ok()?);
    let mut line = String::new();
    let mut next = || {
        line.clear();
        std::io::BufRead::read_line(&mut reader, &mut line).ok()?;
        Some(line.trim_end_matches('\n').to_string())
    };
    let hex = |l: Option<String>| l.and_then(|l| u128::from_str_radix(&l, 16).ok());
    if next().as_deref() != Some(FORMAT) || hex(next()) != Some(inputs.hash) || hex(next()) != Some(outputs(opts)) {
        return None;
    }
    let counts: Vec<usize> = next()?.split(' ').filter_map(|n| n.parse().ok()).collect();
    let [chalets, products, pages, images] = counts[..] else {
        return None;
    };
    let warnings: Vec<Diagnostic> = serde_json::from_reader(reader).ok()?;
    let warnings = warnings.into();
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
    let written = crate::fs::write_atomic_with(&path, |w| {
        write!(
            w,
            "{FORMAT}\n{:032x}\n{:032x}\n{} {} {} {}\n",
            inputs.hash,
            outputs(opts),
            report.chalets,
            report.products,
            report.pages,
            report.images
        )?;
        // A JSON list written as the kept chalets' warnings are read back.
        let mut written = w.write_all(b"[");
        let mut first = true;
        report.warnings.for_each_sorted(|d| {
            if written.is_ok() {
                let comma = if std::mem::take(&mut first) { &b""[..] } else { b"," };
                written = w
                    .write_all(comma)
                    .and_then(|()| serde_json::to_writer(&mut *w, d).map_err(std::io::Error::other));
            }
        });
        written.and_then(|()| w.write_all(b"]"))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&path);
    }
}
