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
use rustc_hash::FxHashSet as HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

mod hashes;
mod manifest;
mod splice;
pub use hashes::Hashes;
pub use manifest::{KeptUnit, LinesDigest, Manifest, hash_text, hash_value, unit_of};
use manifest::{manifest_name, same_hash, write_manifest};
pub use splice::{Piece, Splice};

pub const MANIFEST: &str = ".chalet-manifest";

#[derive(Debug)]
pub enum WriteError {
    Io(io::Error),
    /// Files that could not be produced (a template error met while rendering).
    Content(Diagnostics),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Files written (new or changed); 0 when nothing changed.
    pub written: usize,
    pub deleted: usize,
    /// Every file of the site but the groups' with its content hash (what the manifest
    /// records for it).
    pub hashes: Hashes,
    /// The files written or deleted, `/`-separated: what a browser showing them must reload.
    pub changed: Vec<String>,
}

/// Files that come and go together — one photo's derivatives — tracked by one manifest line,
/// `<hash>\t@<name>\t<path> <path>…`, instead of a line each. A market with photos has six
/// derivatives per photo: a rebuild that changed none of them compares 6,200 lines, not
/// 37,000, and makes no file entry for any of them.
pub trait Group: Sync {
    /// Unique among the groups (a photo's path in the content folder).
    fn name(&self) -> &str;
    /// Its files: each path under the output (no spaces) and the name of the file it is
    /// linked from, in the folder [`write_site`] is given (the image cache: a name is a key).
    /// Asked only of groups that changed, or when a file might be stale.
    fn files(&self) -> Vec<(String, String)>;
    /// Changes whenever a file's path or content does (a photo's: from what its names are
    /// made of, without making them).
    fn hash(&self) -> u128 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for (path, from) in self.files() {
            h.update(path.as_bytes());
            h.update(b"\0");
            h.update(from.as_bytes());
            h.update(b"\0");
        }
        h.digest128()
    }
}

/// The content hash a file is tracked by: xxh3 of the bytes (fast, and stable across runs
/// and machines). Held as a number; written as [`hash_text`].
fn content_hash(c: &Content) -> u128 {
    match c {
        Content::Bytes(b) => xxhash_rust::xxh3::xxh3_128(b),
        Content::Unchanged { hash } => *hash,
        Content::Spliced(s) => s.hash(),
    }
}

/// Writes the site: `files`, and the `groups`' files linked from the folder `linked_from`.
/// `manifest` is the output's
/// ([`Manifest::open`], read once by the caller); `folders` gives (parents first) the folders the
/// files need; it is only called for a first build, so a rebuild does not pay for listing them.
pub fn write_site<I, G>(
    out: &Path,
    manifest: Option<&Manifest>,
    folders: impl FnOnce() -> Vec<String>,
    files: I,
    kept: &[KeptUnit],
    groups: &[G],
    linked_from: &Path,
) -> Result<WriteReport, WriteError>
where
    I: ParallelIterator<Item = Result<OutputFile, Diagnostic>>,
    G: Group,
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
        None => write_whole(out, &staging, &folders(), files, (groups, linked_from)),
        Some(old) => write_changes(out, &staging, old, files, kept, (groups, linked_from)),
    };
    let _ = crate::fs::remove_dir_all(&staging);
    result
}

/// Collects per-file outcomes from the parallel stream.
#[derive(Default)]
struct Collected {
    entries: Vec<(String, u128)>,
    /// Each file put aside, with the name it was staged under.
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

fn collect<I, F>(files: I, counter: &AtomicUsize, keep: F) -> Result<Collected, WriteError>
where
    I: ParallelIterator<Item = Result<OutputFile, Diagnostic>>,
    F: Fn(usize, &OutputFile, u128) -> io::Result<bool> + Sync + Send,
{
    // Each worker collects on its own, merged at the end: a site of 40,000 files (with photos'
    // derivatives) took a lock per file. The parts are joined once, into lists of their
    // total length: merged two by two, the lists were copied as they doubled (3 MB freed
    // copies at 21,000 pages).
    let parts: Vec<Collected> = files
        .try_fold(Collected::default, |mut acc, file| -> io::Result<Collected> {
            match file {
                Ok(f) => {
                    let hash = content_hash(&f.content);
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    if keep(n, &f, hash)? {
                        acc.changed.push((f.path.clone(), n));
                    }
                    acc.entries.push((f.path, hash));
                }
                Err(d) => acc.problems.push(d),
            }
            Ok(acc)
        })
        .collect::<io::Result<_>>()
        .map_err(WriteError::Io)?;
    let mut c = Collected {
        entries: Vec::with_capacity(parts.iter().map(|p| p.entries.len()).sum()),
        changed: Vec::with_capacity(parts.iter().map(|p| p.changed.len()).sum()),
        problems: Diagnostics::default(),
    };
    for part in parts {
        c = c.merge(part);
    }
    if c.problems.has_errors() {
        return Err(WriteError::Content(c.problems));
    }
    Ok(c)
}

/// The groups and the folder their files are linked from.
type Groups<'g, G> = (&'g [G], &'g Path);

/// Puts aside the files of the groups `chosen` (by index) with `stage` (path, from, number),
/// each path once: two photos with the same bytes and name share their derivatives.
fn stage_groups<G, F>(
    (groups, from): Groups<G>,
    chosen: &[usize],
    counter: &AtomicUsize,
    stage: F,
) -> io::Result<Vec<(String, usize)>>
where
    G: Group,
    F: Fn(&str, &Path, usize) -> io::Result<()> + Sync + Send,
{
    let mut seen = HashSet::default();
    let files: Vec<(String, String)> = chosen
        .iter()
        .flat_map(|&i| groups[i].files())
        .filter(|(path, _)| seen.insert(path.clone()))
        .collect();
    files
        .into_par_iter()
        .map(|(path, name)| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            stage(&path, &from.join(name), n).map(|()| (path, n))
        })
        .collect()
}

/// First build: the whole tree is built aside, then swapped in.
fn write_whole<I, G>(
    out: &Path,
    staging: &Path,
    folders: &[String],
    files: I,
    linked: Groups<G>,
) -> Result<WriteReport, WriteError>
where
    I: ParallelIterator<Item = Result<OutputFile, Diagnostic>>,
    G: Group,
{
    for dir in folders {
        if let Err(e) = std::fs::create_dir(staging.join(dir))
            && e.kind() != io::ErrorKind::AlreadyExists
        {
            return Err(WriteError::Io(crate::fs::named(e, &staging.join(dir))));
        }
    }
    let counter = AtomicUsize::new(0);
    let c = collect(files, &counter, |_, f, _| {
        put(out, &f.path, &staging.join(&f.path), &f.content).map(|()| true)
    })?;
    let groups = linked.0;
    let all: Vec<usize> = (0..groups.len()).collect();
    let linked = stage_groups(linked, &all, &counter, |path, from, _| {
        put_linked(from, &staging.join(path))
    })
    .map_err(WriteError::Io)?;
    let hashes: Vec<u128> = groups.par_iter().map(Group::hash).collect();
    let mut changed: Vec<String> = c.entries.iter().map(|(p, _)| p.clone()).collect();
    let entries = Hashes::new(c.entries);
    crate::fs::write_atomic_with(&staging.join(MANIFEST), |w| {
        write_manifest(w, entries.files(), &[], groups, &hashes, None)
    })
    .map_err(WriteError::Io)?;
    let retired = staging.with_extension("old");
    if out.exists() {
        crate::fs::rename(out, &retired).map_err(WriteError::Io)?;
    }
    if let Err(e) = crate::fs::rename(staging, out) {
        let _ = crate::fs::rename(&retired, out);
        return Err(WriteError::Io(e));
    }
    let _ = crate::fs::remove_dir_all(&retired);
    changed.extend(linked.into_iter().map(|(p, _)| p));
    Ok(WriteReport {
        written: changed.len(),
        deleted: 0,
        changed,
        hashes: entries,
    })
}

/// Later builds: only changed files are staged, then renamed into place; stale ones deleted.
/// The `kept` chalets' pages are not in `files`: the output keeps them as they are.
fn write_changes<I, G>(
    out: &Path,
    staging: &Path,
    old: &Manifest,
    files: I,
    kept: &[KeptUnit],
    linked: Groups<G>,
) -> Result<WriteReport, WriteError>
where
    I: ParallelIterator<Item = Result<OutputFile, Diagnostic>>,
    G: Group,
{
    let counter = AtomicUsize::new(0);
    let c = collect(files, &counter, |n, f, hash| {
        // The manifest is trusted (no `stat` per file): deleting `out` forces a full write.
        if old.get(&f.path).is_some_and(|h| same_hash(h, hash)) {
            return Ok(false);
        }
        put(out, &f.path, &staging.join(n.to_string()), &f.content).map(|()| true)
    })?;
    let groups = linked.0;
    let hashes: Vec<u128> = groups.par_iter().map(Group::hash).collect();
    let moved: Vec<usize> = (0..groups.len())
        .filter(|&i| {
            old.group(&manifest_name(groups[i].name()))
                .is_none_or(|(h, _)| !same_hash(h, hashes[i]))
        })
        .collect();
    let mut changed = c.changed;
    changed.extend(
        stage_groups(linked, &moved, &counter, |_, from, n| {
            put_linked(from, &staging.join(n.to_string()))
        })
        .map_err(WriteError::Io)?,
    );
    let entries = Hashes::new(c.entries);
    let mut kept = kept.to_vec();
    kept.sort_unstable_by(|a, b| a.prefix.cmp(&b.prefix));
    let kept_slugs: HashSet<&str> = kept.iter().map(|u| u.slug.as_str()).collect();
    let stale = stale_files(old, &entries, &kept_slugs, groups, &moved);
    if changed.is_empty() && stale.is_empty() {
        return Ok(WriteReport {
            hashes: entries,
            ..WriteReport::default()
        });
    }
    // Everything is staged: now move it in. Renames within one file system do not fail for
    // lack of space, so the site is never left half-written.
    for (path, n) in &changed {
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
    crate::fs::write_atomic_with(&out.join(MANIFEST), |w| {
        write_manifest(w, entries.files(), &kept, groups, &hashes, Some((old, &moved)))
    })
    .map_err(WriteError::Io)?;
    let written = changed.len();
    let mut changed: Vec<String> = changed.into_iter().map(|(p, _)| p).collect();
    changed.extend(stale.iter().map(|p| p.to_string()));
    Ok(WriteReport {
        written,
        deleted: stale.len(),
        changed,
        hashes: entries,
    })
}

/// The files the last build left that this one does not make: files no longer produced, and
/// the files of groups gone or changed — unless this build makes them too (a file becomes a
/// group's, a photo moves from one chalet to another with its name).
fn stale_files<'a, G: Group>(
    old: &'a Manifest,
    new_files: &Hashes,
    kept: &HashSet<&str>,
    groups: &[G],
    moved: &[usize],
) -> Vec<&'a str> {
    let made = |p: &str| new_files.contains(p) || unit_of(p).is_some_and(|slug| kept.contains(slug));
    let mut candidates: Vec<&'a str> = old.files().map(|(p, _)| p).filter(|p| !made(p)).collect();
    if !old.same_groups(groups.len(), moved) {
        let kept: HashSet<std::borrow::Cow<str>> = groups.iter().map(|g| manifest_name(g.name())).collect();
        let changed: HashSet<std::borrow::Cow<str>> = moved.iter().map(|&i| manifest_name(groups[i].name())).collect();
        for (name, paths) in old.groups() {
            if !kept.contains(name) || changed.contains(name) {
                candidates.extend(paths.split(' ').filter(|p| !p.is_empty()));
            }
        }
    }
    if candidates.is_empty() {
        return candidates;
    }
    // Only now every group's files: a rebuild that changed no photo never names them.
    let made_by_groups: HashSet<String> = groups
        .par_iter()
        .flat_map_iter(|g| g.files().into_iter().map(|(p, _)| p))
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    candidates.retain(|p| !made_by_groups.contains(*p) && !made(p));
    candidates
}

/// Puts the file `rel` at `target`: bytes are written; unchanged pages are hard-linked from
/// `out` (copied when on another file system), as the groups' files are from theirs.
fn put(out: &Path, rel: &str, target: &Path, content: &Content) -> io::Result<()> {
    match content {
        Content::Bytes(b) => with_folder(target, |t| std::fs::write(t, b)),
        Content::Unchanged { .. } => put_linked(&out.join(rel), target),
        Content::Spliced(s) => with_folder(target, |t| s.write_to(t)),
    }
}

/// Links `from` at `target` (a copy when they are on different file systems).
fn put_linked(from: &Path, target: &Path) -> io::Result<()> {
    with_folder(target, |to| {
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
    })
}

/// `attempt` at `target`, again once its folder is made if that was missing.
fn with_folder(target: &Path, attempt: impl Fn(&Path) -> io::Result<()>) -> io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A photo's derivatives as the write stage sees them: output paths and cache names.
    struct Photo(&'static str, Vec<(&'static str, &'static str)>);

    impl Group for Photo {
        fn name(&self) -> &str {
            self.0
        }
        fn files(&self) -> Vec<(String, String)> {
            self.1.iter().map(|(p, f)| (p.to_string(), f.to_string())).collect()
        }
    }

    fn page(path: &str) -> Result<OutputFile, Diagnostic> {
        Ok(OutputFile {
            path: path.to_string(),
            content: Content::Bytes(b"<p>page</p>".to_vec()),
        })
    }

    #[test]
    fn a_photos_derivatives_are_one_line_written_removed_and_kept_together() {
        let dir = tempfile::tempdir().expect("tmp");
        let (out, cache) = (dir.path().join("dist"), dir.path().join("cache"));
        std::fs::create_dir_all(&cache).expect("cache");
        for name in ["k1.webp", "k2.jpg", "k3.webp", "k4.webp"] {
            std::fs::write(cache.join(name), name).expect("cached");
        }
        let build = |groups: &[Photo]| {
            let manifest = Manifest::open(&out);
            let folders = || vec!["images".to_string()];
            let pages = rayon::iter::once(page("index.html"));
            write_site(&out, manifest.as_ref(), folders, pages, &[], groups, &cache).expect("written")
        };
        let a = || {
            Photo(
                "chalets/a/cover.jpg",
                vec![
                    ("images/cover-1.k1.webp", "k1.webp"),
                    ("images/cover-2.k2.jpg", "k2.jpg"),
                ],
            )
        };
        // The same photo in a chalet copied from the first: the same files.
        let copy = || Photo("chalets/copy/cover.jpg", a().1);
        let b = || Photo("chalets/b/a\tb.jpg", vec![("images/a-b-1.k3.webp", "k3.webp")]);
        let first = build(&[a(), copy(), b()]);
        assert_eq!(first.written, 4, "{first:?}");
        let mut written = first.changed.clone();
        written.sort();
        assert_eq!(
            written,
            [
                "images/a-b-1.k3.webp",
                "images/cover-1.k1.webp",
                "images/cover-2.k2.jpg",
                "index.html"
            ],
            "every file of the site, each once"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("images/cover-2.k2.jpg")).expect("linked"),
            "k2.jpg"
        );
        let manifest = std::fs::read_to_string(out.join(MANIFEST)).expect("manifest");
        assert_eq!(manifest.lines().filter(|l| l.contains("\t@")).count(), 3, "{manifest}");
        assert!(
            manifest.contains("\t@chalets/b/a\\tb.jpg\timages/a-b-1.k3.webp\n"),
            "{manifest}"
        );

        // Nothing changed: nothing written, the manifest as it was.
        let again = build(&[a(), copy(), b()]);
        assert_eq!(
            (again.written, again.deleted, again.changed.len()),
            (0, 0, 0),
            "{again:?}"
        );
        assert_eq!(std::fs::read_to_string(out.join(MANIFEST)).expect("manifest"), manifest);

        // A page changed, no photo: the groups' lines are copied, the manifest is what a first
        // build of the same site writes.
        let other_page = |groups: &[Photo], out: &Path| {
            let manifest = Manifest::open(out);
            let pages = rayon::iter::once(Ok(OutputFile {
                path: "index.html".to_string(),
                content: Content::Bytes(b"<p>another</p>".to_vec()),
            }));
            write_site(
                out,
                manifest.as_ref(),
                || vec!["images".to_string()],
                pages,
                &[],
                groups,
                &cache,
            )
            .expect("written")
        };
        let changed = other_page(&[a(), copy(), b()], &out);
        assert_eq!((changed.written, changed.deleted), (1, 0), "{changed:?}");
        let fresh = dir.path().join("fresh");
        other_page(&[b(), a(), copy()], &fresh);
        let manifest = std::fs::read_to_string(out.join(MANIFEST)).expect("manifest");
        assert_eq!(manifest, std::fs::read_to_string(fresh.join(MANIFEST)).expect("fresh"));
        assert_eq!(
            Manifest::parse(&manifest)
                .and_then(|m| m.group_lines)
                .map(|(from, to)| manifest[from as usize..to as usize].lines().count()),
            Some(3),
            "the groups end the manifest, one piece"
        );
        assert_eq!(build(&[a(), copy(), b()]).written, 1, "the page as it was");
        // b's photo replaced, as many photos as before: its line is made again, not copied.
        let b4 = || Photo("chalets/b/a\tb.jpg", vec![("images/a-b-1.k4.webp", "k4.webp")]);
        let replaced = build(&[a(), copy(), b4()]);
        assert_eq!((replaced.written, replaced.deleted), (1, 1), "{replaced:?}");
        let manifest = std::fs::read_to_string(out.join(MANIFEST)).expect("manifest");
        assert!(
            manifest.contains("\t@chalets/b/a\\tb.jpg\timages/a-b-1.k4.webp\n"),
            "{manifest}"
        );
        assert_eq!(build(&[a(), copy(), b()]).deleted, 1, "and back");

        // b's photo replaced, the first chalet gone: b's new file in, its old one out; the
        // copy's files stay, they are still its own.
        let b2 = Photo("chalets/b/a\tb.jpg", vec![("images/a-b-1.k4.webp", "k4.webp")]);
        let next = build(&[copy(), b2]);
        assert_eq!((next.written, next.deleted), (1, 1), "{next:?}");
        assert!(!out.join("images/a-b-1.k3.webp").exists());
        assert!(out.join("images/a-b-1.k4.webp").exists());
        assert!(out.join("images/cover-1.k1.webp").exists() && out.join("images/cover-2.k2.jpg").exists());

        // The copy gone too: its files go.
        let last = build(&[Photo("chalets/b/a\tb.jpg", vec![("images/a-b-1.k4.webp", "k4.webp")])]);
        assert_eq!(last.deleted, 2, "{last:?}");
        assert!(!out.join("images/cover-1.k1.webp").exists());

        // An output written with a line per derivative (chalet before groups): taken over,
        // nothing deleted that the groups still make.
        let old: String = std::fs::read_to_string(out.join(MANIFEST))
            .expect("manifest")
            .lines()
            .map(|l| match l.split_once("\t@") {
                Some((h, rest)) => format!("{h}\t{}\n", rest.rsplit('\t').next().expect("paths")),
                None => format!("{l}\n"),
            })
            .collect();
        std::fs::write(out.join(MANIFEST), old).expect("old manifest");
        let taken = build(&[Photo("chalets/b/a\tb.jpg", vec![("images/a-b-1.k4.webp", "k4.webp")])]);
        assert_eq!((taken.written, taken.deleted), (1, 0), "{taken:?}");
        assert!(out.join("images/a-b-1.k4.webp").exists());
        assert_eq!(
            std::fs::read_to_string(out.join("images/a-b-1.k4.webp")).expect("linked"),
            "k4.webp"
        );
    }
}
