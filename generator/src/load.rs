//! Stage 1: read the content folder into memory. Text files (YAML, Markdown) are read whole;
//! every other file is only listed with its size (images are read by the image stage).
//! This is one of the two stages that touch the disk; it never interprets content.

use crate::source::SourceFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Text files larger than this are refused: no honest chalet description needs a megabyte.
pub const MAX_TEXT_BYTES: u64 = 1024 * 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileMeta {
    pub len: u64,
    /// Modification time, ns since the epoch: with `len`, how the image index spots a changed file.
    pub mtime_ns: i128,
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
    pub texts: BTreeMap<String, SourceFile>,
    pub others: BTreeMap<String, FileMeta>,
    pub refused: Vec<Refused>,
}

impl ContentFiles {
    pub fn display(&self, rel: &str) -> String {
        if self.display_root.is_empty() || self.display_root == "." {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.display_root.trim_end_matches('/'))
        }
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.texts.contains_key(rel) || self.others.contains_key(rel)
    }
}

fn is_text(rel: &str) -> bool {
    rel.ends_with(".md") || rel.ends_with(".yaml") || rel.ends_with(".yml")
}

/// Reads the content folder. Only a missing or unreadable *root* is an IO error; problems with
/// single files become [`Refused`] entries reported with everything else.
pub fn load(root: &Path, display_root: &str) -> std::io::Result<ContentFiles> {
    let meta = std::fs::metadata(root).map_err(|e| with_path(e, root))?;
    if !meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a folder", root.display()),
        ));
    }
    let mut files = ContentFiles {
        root: root.to_path_buf(),
        display_root: display_root.to_string(),
        ..Default::default()
    };
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    let walker = walker.filter_entry(|e| {
        // Hidden files (.git, .DS_Store) and the template overrides are not content.
        let name = e.file_name().to_string_lossy();
        e.depth() == 0 || !(name.starts_with('.') || (e.depth() == 1 && name == "templates"))
    });
    // Walk first (cheap, sequential), then read the text files in parallel.
    let mut texts: Vec<(String, std::path::PathBuf, u64)> = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let rel = e.path().and_then(|p| rel_path(root, p)).unwrap_or_default();
                files.refused.push(Refused {
                    rel,
                    message: format!("cannot be read: {e}"),
                    hint: None,
                });
                continue;
            }
        };
        let Some(rel) = rel_path(root, entry.path()) else {
            continue;
        };
        if rel.is_empty() {
            continue;
        }
        let ft = entry.file_type();
        if ft.is_symlink() {
            files.refused.push(Refused {
                rel,
                message: "symbolic links are not allowed in the content folder".into(),
                hint: Some("copy the file here instead of linking to it".into()),
            });
            continue;
        }
        if ft.is_dir() {
            continue;
        }
        if !ft.is_file() {
            // A pipe, socket or device: reading it could block the build forever.
            files.refused.push(Refused {
                rel,
                message: "is not a regular file".into(),
                hint: Some("the content folder holds only ordinary files".into()),
            });
            continue;
        }
        let meta = entry.metadata().ok();
        let len = meta.as_ref().map_or(0, |m| m.len());
        if is_text(&rel) {
            if len > MAX_TEXT_BYTES {
                files.refused.push(Refused {
                    rel,
                    message: format!("is {len} bytes; text files are limited to 1 MB"),
                    hint: None,
                });
            } else {
                texts.push((rel, entry.into_path(), len));
            }
        } else {
            let mtime_ns = meta.as_ref().map_or(0, crate::fs::mtime_ns);
            files.others.insert(rel, FileMeta { len, mtime_ns });
        }
    }
    use rayon::prelude::*;
    let read: Vec<(String, Result<String, Refused>)> = texts
        .into_par_iter()
        .map(|(rel, path, _)| {
            let text = match std::fs::read(&path) {
                Ok(bytes) => String::from_utf8(bytes).map_err(|_| Refused {
                    rel: rel.clone(),
                    message: "is not UTF-8 text".into(),
                    hint: Some("save the file as UTF-8 in your editor".into()),
                }),
                Err(e) => Err(Refused {
                    rel: rel.clone(),
                    message: format!("cannot be read: {e}"),
                    hint: None,
                }),
            };
            (rel, text)
        })
        .collect();
    for (rel, text) in read {
        match text {
            Ok(text) => {
                let display = files.display(&rel);
                files.texts.insert(rel.clone(), SourceFile::new(rel, display, text));
            }
            Err(refused) => files.refused.push(refused),
        }
    }
    Ok(files)
}

fn rel_path(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

fn with_path(e: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
