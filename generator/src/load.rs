//! Stage 1: read the content folder into memory. Text files (YAML, Markdown) are read whole;
//! every other file is only listed with its size (images are read by the image stage).
//! This is one of the two stages that touch the disk; it never interprets content.
//!
//! It runs in two steps so an incremental build reads only what changed: [`scan`] lists every
//! file with its size and modification time, [`ContentFiles::read_texts`] reads the texts
//! asked for. [`load`] does both for every text.

mod listing;

use crate::source::SourceFile;
pub use listing::Listing;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Text files larger than this are refused: no honest chalet description needs a megabyte.
pub const MAX_TEXT_BYTES: u64 = 1024 * 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct FileMeta {
    pub len: u64,
    /// Modification time, ns since the epoch: with `len`, how the image index spots a changed file.
    pub mtime_ns: i128,
}

/// A chalet folder's files as one stamp: the digest of their paths (relative to the folder),
/// sizes and times, sorted — a file added, removed, renamed, resized or touched changes it —
/// and the newest of those times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FolderStamp {
    pub digest: u128,
    pub newest_ns: i128,
}

/// A file that could not be taken in, with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub rel: String,
    pub message: String,
    pub hint: Option<String>,
}

/// Everything under the content folder, keyed by `/`-separated path relative to it.
#[derive(Clone, Debug, Default)]
pub struct ContentFiles {
    pub root: PathBuf,
    /// How the content folder is shown in diagnostics (`content`).
    pub display_root: String,
    /// Shared with the model made from them (a chalet's Markdown), not copied into it.
    pub texts: BTreeMap<String, Arc<SourceFile>>,
    pub others: Listing,
    pub refused: Vec<Refused>,
    /// Size and modification time of every text file, read or not: those not in `texts`
    /// are still to read (by path under `root`).
    pub text_stamps: Listing,
    /// When [`scan`] began, ns since the epoch: a file modified since may have been read in
    /// its new state with its old stamp.
    pub scanned_ns: i128,
    /// Each chalet folder's stamp as [`scan`] listed it (those with a refused file have none):
    /// made once, as the folder is listed, for whoever asks ([`ContentFiles::folder_stamp`]).
    pub stamps: BTreeMap<String, FolderStamp>,
    /// The chalet folders whose texts below their top ([`scan_pruning`]: the products, at
    /// 20,000 products most of the listing) were left out; their stamps are in `stamps`.
    pub pruned: BTreeSet<String>,
}

impl ContentFiles {
    pub fn display(&self, rel: &str) -> String {
        if self.display_root.is_empty() || self.display_root == "." {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.display_root.trim_end_matches('/'))
        }
    }

    /// In order again after files were pushed (a walk).
    fn sort(&mut self) {
        self.text_stamps.sort();
        self.others.sort();
    }

    /// The stamp of the chalet folder `chalets/<folder>/`; `None` when one of its files was
    /// refused (it cannot be vouched for).
    pub fn folder_stamp(&self, folder: &str) -> Option<FolderStamp> {
        // A text refused when read (not UTF-8) is taken out of the listing after its stamp.
        let prefix = format!("chalets/{folder}/");
        if self.refused.iter().any(|r| r.rel.starts_with(&prefix)) {
            return None;
        }
        if let Some(stamp) = self.stamps.get(folder) {
            return Some(*stamp);
        }
        let under = |listing: &Listing| {
            listing
                .under(&prefix)
                .map(|(rel, meta)| (rel[prefix.len()..].to_string(), meta))
                .collect::<Vec<_>>()
        };
        let mut all = under(&self.text_stamps);
        all.extend(under(&self.others));
        all.sort();
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for (rel, m) in &all {
            // The length first: no two lists of names run together into the same bytes.
            h.update(&(rel.len() as u64).to_le_bytes());
            h.update(rel.as_bytes());
            h.update(&m.len.to_le_bytes());
            h.update(&m.mtime_ns.to_le_bytes());
        }
        Some(FolderStamp {
            digest: h.digest128(),
            newest_ns: all.iter().map(|(_, m)| m.mtime_ns).max().unwrap_or(i128::MIN),
        })
    }

    /// Every chalet folder that holds a file (listed, refused, or left out by
    /// [`scan_pruning`]).
    pub fn chalet_folders(&self) -> BTreeSet<&str> {
        let mut folders: BTreeSet<&str> = self.pruned.iter().map(String::as_str).collect();
        let mut last = None;
        for folder in self.all_paths().filter_map(chalet_folder_of) {
            if last != Some(folder) {
                folders.insert(folder);
                last = Some(folder);
            }
        }
        folders
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.text_stamps.contains_key(rel) || self.others.contains_key(rel)
    }

    /// Every file's path, texts (read or not), others and refused ones, each once.
    pub fn all_paths(&self) -> impl Iterator<Item = &str> {
        let refused = self.refused.iter().map(|r| r.rel.as_str());
        self.text_stamps.keys().chain(self.others.keys()).chain(refused)
    }

    /// Reads, in parallel, the text files not read yet that `wanted` accepts.
    pub fn read_texts(&mut self, wanted: impl Fn(&str) -> bool + Sync) {
        use rayon::prelude::*;
        let todo: Vec<&str> = self
            .text_stamps
            .keys()
            .filter(|rel| wanted(rel) && !self.texts.contains_key(*rel))
            .collect();
        let read: Vec<(String, Result<String, Refused>)> = todo
            .into_par_iter()
            .map(|rel| (rel.to_string(), read_text(rel, &self.root.join(rel))))
            .collect();
        for (rel, text) in read {
            match text {
                Ok(text) => {
                    let display = self.display(&rel);
                    self.texts
                        .insert(rel.clone(), Arc::new(SourceFile::new(rel, display, text)));
                }
                Err(refused) => {
                    self.text_stamps.remove(&rel);
                    self.refused.push(refused);
                }
            }
        }
    }

    /// Brings the listing up to date after the files at `changed` (absolute paths, files or
    /// folders, present or gone) changed, as a watcher reports them: what `serve` does instead
    /// of listing every file again. Returns `false` when only a whole [`scan`] can tell (the
    /// folder itself changed); then nothing was touched.
    pub fn refresh(&mut self, changed: &[PathBuf]) -> bool {
        // Past a few hundred paths (a branch checked out), one scan costs less. A listing that
        // left products out (`scan_pruning`) has nothing to bring up to date.
        if changed.len() > 256 || !self.pruned.is_empty() {
            return false;
        }
        let root = self.root.clone();
        // Watchers report absolute paths, perhaps through another name of the folder.
        let forms: Vec<PathBuf> = [
            Some(root.clone()),
            std::path::absolute(&root).ok(),
            root.canonicalize().ok(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut rels: Vec<(String, PathBuf)> = Vec::new();
        for path in changed {
            // Not known to be inside (a theme's file, or a name we cannot relate): only a
            // scan is sure.
            let Some(rel) = forms
                .iter()
                .find_map(|f| path.strip_prefix(f).ok().map(|_| rel_path(f, path)))
                .flatten()
            else {
                return false;
            };
            if rel.is_empty() {
                return false;
            }
            if rel.split('/').enumerate().any(|(i, name)| not_content(name, i + 1)) {
                continue;
            }
            let path = root.join(&rel);
            rels.push((rel, path));
        }
        self.scanned_ns = crate::fs::now_ns();
        for (rel, path) in rels {
            let under = format!("{rel}/");
            let gone = |k: &str| k == rel || k.starts_with(&under);
            self.text_stamps.retain(|k| !gone(k));
            self.texts.retain(|k, _| !gone(k));
            self.others.retain(|k| !gone(k));
            self.refused.retain(|r| !gone(&r.rel));
            // A chalet folder whose files changed is stamped again when asked.
            self.stamps.retain(|f, _| {
                let dir = format!("chalets/{f}");
                !(gone(&dir) || rel.starts_with(&format!("{dir}/")))
            });
            if std::fs::symlink_metadata(&path).is_ok() {
                walk(&root, &path, self, None);
            }
        }
        self.sort();
        true
    }
}

/// `chalets/<folder>/…` → `<folder>`.
pub fn chalet_folder_of(rel: &str) -> Option<&str> {
    rel.strip_prefix("chalets/")?.split_once('/').map(|(f, _)| f)
}

fn read_text(rel: &str, path: &Path) -> Result<String, Refused> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| Refused {
            rel: rel.to_string(),
            message: "is not UTF-8 text".into(),
            hint: Some("save the file as UTF-8 in your editor".into()),
        }),
        Err(e) => Err(Refused {
            rel: rel.to_string(),
            message: format!("cannot be read: {e}"),
            hint: None,
        }),
    }
}

fn is_text(rel: &str) -> bool {
    rel.ends_with(".md") || rel.ends_with(".yaml") || rel.ends_with(".yml")
}

/// A content folder given in memory — the application form's, in the browser — as files by
/// `/`-separated path: texts whole, other files (photos) by their size only, as a scan lists them.
/// Refused like a scan refuses (a text too large).
pub fn from_memory(display_root: &str, texts: Vec<(String, String)>, others: Vec<(String, u64)>) -> ContentFiles {
    let mut files = ContentFiles {
        display_root: display_root.to_string(),
        ..Default::default()
    };
    for (rel, text) in texts {
        let len = text.len() as u64;
        if len > MAX_TEXT_BYTES {
            files.refused.push(too_large(rel, len));
            continue;
        }
        files.text_stamps.insert(&rel, FileMeta { len, mtime_ns: 0 });
        let display = files.display(&rel);
        files
            .texts
            .insert(rel.clone(), Arc::new(SourceFile::new(rel, display, text)));
    }
    for (rel, len) in others {
        files.others.insert(&rel, FileMeta { len, mtime_ns: 0 });
    }
    files
}

fn too_large(rel: String, len: u64) -> Refused {
    Refused {
        rel,
        message: format!("is {len} bytes; text files are limited to 1 MB"),
        hint: None,
    }
}

/// Reads the content folder. Only a missing or unreadable *root* is an IO error; problems with
/// single files become [`Refused`] entries reported with everything else.
pub fn load(root: &Path, display_root: &str) -> std::io::Result<ContentFiles> {
    let mut files = scan(root, display_root)?;
    files.read_texts(|_| true);
    Ok(files)
}

/// Lists the content folder with every file's size and modification time; reads nothing.
pub fn scan(root: &Path, display_root: &str) -> std::io::Result<ContentFiles> {
    scan_pruning(root, display_root, &|_, _| false)
}

/// [`scan`], leaving out the texts below the top of each chalet folder `prune` accepts by its
/// stamp — those of the chalets the last build validated, as they were: a build that takes them
/// back never looks at their products' files, and at 20,000 products their paths were most of
/// the listing (2 MB). The folder's stamp and its top files (`chalet.yaml`) stay.
pub fn scan_pruning(
    root: &Path,
    display_root: &str,
    prune: &(dyn Fn(&str, &FolderStamp) -> bool + Sync),
) -> std::io::Result<ContentFiles> {
    let meta = std::fs::metadata(root).map_err(|e| crate::fs::named(e, root))?;
    if !meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a folder", root.display()),
        ));
    }
    let scanned_ns = crate::fs::now_ns();
    let mut files = ContentFiles {
        root: root.to_path_buf(),
        display_root: display_root.to_string(),
        scanned_ns,
        ..Default::default()
    };
    // The top of the folder first, without the chalets' own folders; then those, in parallel
    // (listing is a system call per file: a market of 20,000 products lists 25,000 files).
    let mut chalet_dirs = Vec::new();
    walk(root, root, &mut files, Some(&mut chalet_dirs));
    use rayon::prelude::*;
    let parts: Vec<ContentFiles> = chalet_dirs
        .par_iter()
        .map(|dir| {
            let mut part = ContentFiles::default();
            walk(root, dir, &mut part, None);
            part.sort();
            let folder = dir.file_name().map(|n| n.to_string_lossy().into_owned());
            if let Some(folder) = folder
                && let Some(stamp) = part.folder_stamp(&folder)
            {
                if prune(&folder, &stamp) {
                    let top = format!("chalets/{folder}/");
                    part.text_stamps
                        .retain(|rel| !rel.strip_prefix(&top).is_some_and(|inner| inner.contains('/')));
                    part.pruned.insert(folder.clone());
                }
                part.stamps.insert(folder, stamp);
            }
            part
        })
        .collect();
    // Sized once, then sorted once: the chalets' folders follow one another in order, so the
    // sort merges a few runs.
    files.text_stamps.reserve_for(parts.iter().map(|p| &p.text_stamps));
    files.others.reserve_for(parts.iter().map(|p| &p.others));
    for part in parts {
        files.refused.extend(part.refused);
        files.text_stamps.extend(part.text_stamps);
        files.others.extend(part.others);
        files.stamps.extend(part.stamps);
        files.pruned.extend(part.pruned);
    }
    files.sort();
    Ok(files)
}

/// What a listing skips, by name and depth below the content folder (1: at its top): hidden
/// files and folders (.git, .DS_Store) anywhere, and the template overrides.
fn not_content(name: &str, depth: usize) -> bool {
    name.starts_with('.') || (depth == 1 && name == "templates")
}

/// Lists `start` (under the content folder `root`) into `files`. With `chalet_dirs`, the folders
/// `chalets/<slug>/` are not entered but collected there.
fn walk(root: &Path, start: &Path, files: &mut ContentFiles, mut chalet_dirs: Option<&mut Vec<PathBuf>>) {
    let below = start.strip_prefix(root).map_or(0, |rel| rel.components().count());
    let rel = rel_path(root, start).unwrap_or_default();
    // The content folder itself may be a link; anything below it is taken as it is.
    match std::fs::symlink_metadata(start) {
        Ok(meta) if !rel.is_empty() && !meta.is_dir() => {
            let depth = below.saturating_sub(1);
            visit(
                start.to_path_buf(),
                rel,
                meta.file_type(),
                || Some(meta),
                depth,
                files,
                &mut chalet_dirs,
            );
        }
        _ => walk_dir(start, &rel, below, files, &mut chalet_dirs),
    }
}

/// One folder of [`walk`], its entries by name. Each file's stamp comes from its folder's
/// entry (`fstatat` on the open folder rather than a lookup of the whole path: at 20,000
/// products, a third of a listing's time).
fn walk_dir(
    dir: &Path,
    rel: &str,
    depth: usize,
    files: &mut ContentFiles,
    chalet_dirs: &mut Option<&mut Vec<PathBuf>>,
) {
    let cannot = |rel: &str, e: std::io::Error| Refused {
        rel: rel.to_string(),
        message: format!("cannot be read: {e}"),
        hint: None,
    };
    let mut entries: Vec<(std::ffi::OsString, std::fs::DirEntry)> = match std::fs::read_dir(dir) {
        Ok(list) => list
            .filter_map(|e| e.map_err(|e| files.refused.push(cannot(rel, e))).ok())
            .map(|e| (e.file_name(), e))
            .collect(),
        Err(e) => {
            files.refused.push(cannot(rel, e));
            return;
        }
    };
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (name, entry) in entries {
        let name = name.to_string_lossy();
        if not_content(&name, depth + 1) {
            continue;
        }
        let rel = if rel.is_empty() {
            name.into_owned()
        } else {
            format!("{rel}/{name}")
        };
        let ft = match entry.file_type() {
            Ok(ft) => ft,
            Err(e) => {
                files.refused.push(cannot(&rel, e));
                continue;
            }
        };
        visit(
            entry.path(),
            rel,
            ft,
            || entry.metadata().ok(),
            depth,
            files,
            chalet_dirs,
        );
    }
}

/// One entry at `depth + 1` below the content folder: a folder is listed (or, at
/// `chalets/<slug>`, collected), a file stamped, anything else refused.
fn visit(
    path: PathBuf,
    rel: String,
    ft: std::fs::FileType,
    meta: impl FnOnce() -> Option<std::fs::Metadata>,
    depth: usize,
    files: &mut ContentFiles,
    chalet_dirs: &mut Option<&mut Vec<PathBuf>>,
) {
    if ft.is_symlink() {
        files.refused.push(Refused {
            rel,
            message: "symbolic links are not allowed in the content folder".into(),
            hint: Some("copy the file here instead of linking to it".into()),
        });
        return;
    }
    if ft.is_dir() {
        match chalet_dirs {
            Some(dirs) if depth + 1 == 2 && rel.starts_with("chalets/") => dirs.push(path),
            _ => walk_dir(&path, &rel, depth + 1, files, chalet_dirs),
        }
        return;
    }
    if !ft.is_file() {
        // A pipe, socket or device: reading it could block the build forever.
        files.refused.push(Refused {
            rel,
            message: "is not a regular file".into(),
            hint: Some("the content folder holds only ordinary files".into()),
        });
        return;
    }
    let meta = meta();
    let len = meta.as_ref().map_or(0, |m| m.len());
    let stamp = FileMeta {
        len,
        mtime_ns: meta.as_ref().map_or(0, crate::fs::mtime_ns),
    };
    // Pushed out of order: the walk's caller sorts.
    if is_text(&rel) {
        if len > MAX_TEXT_BYTES {
            files.refused.push(too_large(rel, len));
        } else {
            files.text_stamps.push(&rel, stamp);
        }
    } else {
        files.others.push(&rel, stamp);
    }
}

fn rel_path(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pruned_chalet_keeps_its_top_files_and_the_stamp_of_all_of_them() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        for (rel, text) in [
            ("market.yaml", "name: x"),
            ("chalets/a/chalet.yaml", "name: A"),
            ("chalets/a/products/one.md", "one"),
            ("chalets/a/products/two.md", "two"),
            ("chalets/a/cover.png", "png"),
            ("chalets/b/chalet.yaml", "name: B"),
            ("chalets/b/products/three.md", "three"),
        ] {
            std::fs::create_dir_all(root.join(rel).parent().expect("parent")).expect("mkdir");
            std::fs::write(root.join(rel), text).expect("write");
        }
        let whole = scan(root, "content").expect("scan");
        let a = whole.folder_stamp("a").expect("a stamp");
        let pruned = scan_pruning(root, "content", &|folder, stamp| folder == "a" && *stamp == a).expect("scan");
        // Its products are left out; its top files and photos, and the other chalet, stay.
        let texts: Vec<&str> = pruned.text_stamps.keys().collect();
        assert_eq!(
            texts,
            [
                "chalets/a/chalet.yaml",
                "chalets/b/chalet.yaml",
                "chalets/b/products/three.md",
                "market.yaml"
            ]
        );
        assert!(pruned.exists("chalets/a/cover.png"));
        // Its stamp is the one of all its files, and it is still a chalet folder.
        assert_eq!(pruned.folder_stamp("a"), Some(a));
        assert_eq!(pruned.folder_stamp("b"), whole.folder_stamp("b"));
        assert_eq!(pruned.chalet_folders(), whole.chalet_folders());

        // A product touched: another stamp, so a build that kept `a` would not prune it.
        std::fs::write(root.join("chalets/a/products/two.md"), "deux").expect("write");
        let again = scan(root, "content").expect("scan");
        assert_ne!(again.folder_stamp("a"), Some(a));
        assert_eq!(again.folder_stamp("b"), whole.folder_stamp("b"));

        // `serve`'s listing brought up to date from the watcher: the touched folder's stamp is
        // made again, as a new scan makes it; a pruned listing cannot be brought up to date.
        let mut served = whole;
        assert!(served.refresh(&[root.join("chalets/a/products/two.md")]));
        assert_eq!(served.folder_stamp("a"), again.folder_stamp("a"));
        assert_eq!(served.folder_stamp("b"), again.folder_stamp("b"));
        let mut pruned = pruned;
        assert!(!pruned.refresh(&[root.join("chalets/b/products/three.md")]));
    }
}
