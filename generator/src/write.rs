//! Stage 5, the only one that touches the output folder. Pages arrive as they are rendered (in
//! parallel, so memory stays flat) and everything is written *aside* first; only when every file
//! made it is anything moved into place. A build that fails at any point before that leaves the
//! previous site exactly as it was.
//!
//! - First build (no manifest in `out`): the whole site goes into a sibling staging folder,
//!   which then replaces `out` with two renames.
//! - Later builds: `out/.chalet-manifest` records each file's content hash. Only files whose hash
//!   changed are written (to the staging folder, then renamed into place); files no longer
//!   produced are deleted. A rebuild that changes nothing writes nothing.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::render::{Content, OutputFile};
use rayon::prelude::*;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::io;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = ".chalet-manifest";

#[derive(Debug)]
pub enum WriteError {
    Io(io::Error),
    /// Files that could not be produced (a template error met while rendering).
    Content(Diagnostics),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    pub files: usize,
    /// Files written (new or changed); 0 when nothing changed.
    pub written: usize,
    pub deleted: usize,
    /// Every file of the site with its content hash (what the manifest records).
    pub hashes: HashMap<String, String>,
    /// The files written or deleted, `/`-separated: what a browser showing them must reload.
    pub changed: Vec<String>,
}

/// The content hash a file is tracked by: the cache key for cached images, xxh3 of the bytes
/// otherwise (fast, and stable across runs and machines).
fn content_hash(c: &Content) -> String {
    match c {
        Content::Bytes(b) => format!("{:032x}", xxhash_rust::xxh3::xxh3_128(b)),
        Content::Cached { key, .. } => key.clone(),
        Content::Unchanged { hash } => hash.clone(),
    }
}

/// The output folder's manifest: each file's content hash, by path.
pub fn read_manifest(out: &Path) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(out.join(MANIFEST)).ok()?;
    text.lines()
        .map(|l| l.split_once('\t').map(|(h, p)| (p.to_string(), h.to_string())))
        .collect()
}

fn manifest_text(entries: &[(String, String)]) -> String {
    use std::fmt::Write as _;
    let mut sorted: Vec<&(String, String)> = entries.iter().collect();
    sorted.sort_unstable();
    let mut text = String::with_capacity(entries.len() * 80);
    for (p, h) in sorted {
        let _ = writeln!(text, "{h}\t{p}");
    }
    text
}

/// Writes the site. `manifest` is the output's ([`read_manifest`], read once by the caller);
/// `folders` gives (parents first) the folders the files need; it is only called for a first
/// build, so a rebuild does not pay for listing them.
pub fn write_site<I>(
    out: &Path,
    manifest: Option<HashMap<String, String>>,
    folders: impl FnOnce() -> Vec<String>,
    files: I,
) -> Result<WriteReport, WriteError>
where
    I: ParallelIterator<Item = Result<OutputFile, Diagnostic>>,
{
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    crate::fs::create_dir_all(&parent).map_err(WriteError::Io)?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dist".into());
    let staging = parent.join(format!(".{name}.tmp-build-{}", std::process::id()));
    remove_leftovers(&parent, &name);
    if out.exists() && !out.is_dir() {
        return Err(WriteError::Io(io::Error::other(format!(
            "{} exists and is not a folder",
            out.display()
        ))));
    }
    crate::fs::create_dir_all(&staging).map_err(WriteError::Io)?;
    let result = match manifest {
        None => write_whole(out, &staging, &folders(), files),
        Some(old) => write_changes(out, &staging, old, files),
    };
    let _ = crate::fs::remove_dir_all(&staging);
    result
}

/// Collects per-file outcomes from the parallel stream.
#[derive(Default)]
struct Collected {
    entries: Vec<(String, String)>,
    changed: Vec<(String, usize)>,
    problems: Diagnostics,
}

impl Collected {
    fn merge(mut self, mut other: Collected) -> Collected {
        self.entries.append(&mut other.entries);
        self.changed.append(&mut other.changed);
        self.problems.extend(other.problems);
        self
    }
}

fn collect<I, F>(files: I, keep: F) -> Result<Collected, WriteError>
where
    I: ParallelIterator<Item = Result<OutputFile, Diagnostic>>,
    F: Fn(usize, &OutputFile, &str) -> io::Result<bool> + Sync + Send,
{
    let counter = std::sync::atomic::AtomicUsize::new(0);
    // Each worker collects on its own, merged at the end: a site of 40,000 files (with photos'
    // derivatives) took a lock per file.
    let c = files
        .try_fold(Collected::default, |mut acc, file| -> io::Result<Collected> {
            match file {
                Ok(f) => {
                    let hash = content_hash(&f.content);
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if keep(n, &f, &hash)? {
                        acc.changed.push((f.path.clone(), n));
                    }
                    acc.entries.push((f.path, hash));
                }
                Err(d) => acc.problems.push(d),
            }
            Ok(acc)
        })
        .try_reduce(Collected::default, |a, b| Ok(a.merge(b)))
        .map_err(WriteError::Io)?;
    if c.problems.has_errors() {
        return Err(WriteError::Content(c.problems));
    }
    Ok(c)
}

/// First build: the whole tree is built aside, then swapped in.
fn write_whole<I>(out: &Path, staging: &Path, folders: &[String], files: I) -> Result<WriteReport, WriteError>
where
    I: ParallelIterator<Item = Result<OutputFile, Diagnostic>>,
{
    for dir in folders {
        if let Err(e) = std::fs::create_dir(staging.join(dir))
            && e.kind() != io::ErrorKind::AlreadyExists
        {
            return Err(WriteError::Io(crate::fs::named(e, &staging.join(dir))));
        }
    }
    let c = collect(files, |_, f, _| {
        put(out, &f.path, &staging.join(&f.path), &f.content).map(|()| true)
    })?;
    crate::fs::write(&staging.join(MANIFEST), manifest_text(&c.entries).as_bytes()).map_err(WriteError::Io)?;
    let retired = staging.with_extension("old");
    if out.exists() {
        crate::fs::rename(out, &retired).map_err(WriteError::Io)?;
    }
    if let Err(e) = crate::fs::rename(staging, out) {
        let _ = crate::fs::rename(&retired, out);
        return Err(WriteError::Io(e));
    }
    let _ = crate::fs::remove_dir_all(&retired);
    Ok(WriteReport {
        files: c.entries.len(),
        written: c.entries.len(),
        deleted: 0,
        changed: c.entries.iter().map(|(p, _)| p.clone()).collect(),
        hashes: c.entries.into_iter().collect(),
    })
}

/// Later builds: only changed files are staged, then renamed into place; stale ones deleted.
fn write_changes<I>(
    out: &Path,
    staging: &Path,
    old: HashMap<String, String>,
    files: I,
) -> Result<WriteReport, WriteError>
where
    I: ParallelIterator<Item = Result<OutputFile, Diagnostic>>,
{
    let c = collect(files, |n, f, hash| {
        // The manifest is trusted (no `stat` per file): deleting `out` forces a full write.
        if old.get(&f.path).is_some_and(|h| h == hash) {
            return Ok(false);
        }
        put(out, &f.path, &staging.join(n.to_string()), &f.content).map(|()| true)
    })?;
    let new_paths: HashSet<&str> = c.entries.iter().map(|(p, _)| p.as_str()).collect();
    let stale: Vec<&String> = old.keys().filter(|p| !new_paths.contains(p.as_str())).collect();
    if c.changed.is_empty() && stale.is_empty() {
        return Ok(WriteReport {
            files: c.entries.len(),
            hashes: c.entries.into_iter().collect(),
            ..WriteReport::default()
        });
    }
    // Everything is staged: now move it in. Renames within one file system do not fail for
    // lack of space, so the site is never left half-written.
    for (path, n) in &c.changed {
        let target = out.join(path);
        if let Some(dir) = target.parent() {
            crate::fs::create_dir_all(dir).map_err(WriteError::Io)?;
        }
        crate::fs::rename(&staging.join(n.to_string()), &target).map_err(WriteError::Io)?;
    }
    for path in &stale {
        let target = out.join(path);
        let _ = std::fs::remove_file(&target);
        // Remove folders left empty, up to the output root.
        let mut dir = target.parent();
        while let Some(d) = dir.filter(|d| *d != out) {
            if std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    crate::fs::write_atomic(&out.join(MANIFEST), manifest_text(&c.entries).as_bytes()).map_err(WriteError::Io)?;
    let mut changed: Vec<String> = c.changed.iter().map(|(p, _)| p.clone()).collect();
    changed.extend(stale.iter().map(|p| p.to_string()));
    Ok(WriteReport {
        files: c.entries.len(),
        written: c.changed.len(),
        deleted: stale.len(),
        changed,
        hashes: c.entries.into_iter().collect(),
    })
}

/// Puts the file `rel` at `target`: bytes are written; cached images are hard-linked (copied
/// when the cache is on another file system), and so are unchanged pages from `out`.
fn put(out: &Path, rel: &str, target: &Path, content: &Content) -> io::Result<()> {
    let link = |from: &Path, to: &Path| {
        if let Err(e) = std::fs::hard_link(from, to) {
            if e.kind() != io::ErrorKind::AlreadyExists {
                // Another file system: a copy.
                return std::fs::copy(from, to).map(|_| ());
            }
            // Never copy onto what is there: it may be a link to `from` itself, and a copy
            // would truncate the cached image through it.
            std::fs::remove_file(to)?;
            std::fs::hard_link(from, to).or_else(|_| std::fs::copy(from, to).map(|_| ()))?;
        }
        Ok(())
    };
    let previous = out.join(rel);
    let attempt = |target: &Path| match content {
        Content::Bytes(b) => std::fs::write(target, b),
        Content::Cached { path, .. } => link(path, target),
        Content::Unchanged { .. } => link(&previous, target),
    };
    match attempt(target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = target.parent() {
                crate::fs::create_dir_all(dir)?;
            }
            attempt(target).map_err(|e| crate::fs::named(e, target))
        }
        other => other.map_err(|e| crate::fs::named(e, target)),
    }
}

/// Staging folders of builds that were killed mid-way.
fn remove_leftovers(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&format!(".{name}.tmp-build-")) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
