//! Stage 5, the only one that touches the output folder. Pages arrive as they are rendered
//! (in parallel, so memory stays flat) and go into a sibling staging folder; when every file is
//! there, two renames swap it in. A build that fails at any point leaves the previous site
//! exactly as it was.

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::render::{Content, OutputFile};
use rayon::prelude::*;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug)]
pub enum WriteError {
    Io(io::Error),
    /// Files that could not be produced (a template error met while rendering).
    Content(Diagnostics),
}

/// Writes every file, then swaps the staging folder in place of `out`. `folders` are created
/// first (parents before children), so that no write has to discover a missing one.
pub fn write_site<I>(out: &Path, folders: &[String], files: I) -> Result<usize, WriteError>
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
    let pid = std::process::id();
    let staging = parent.join(format!(".{name}.tmp-build-{pid}"));
    let retired = parent.join(format!(".{name}.old-build-{pid}"));
    remove_leftovers(&parent, &name);
    crate::fs::create_dir_all(&staging).map_err(WriteError::Io)?;
    for dir in folders {
        if let Err(e) = std::fs::create_dir(staging.join(dir))
            && e.kind() != io::ErrorKind::AlreadyExists
        {
            return Err(discard(
                &staging,
                WriteError::Io(crate::fs::named(e, &staging.join(dir))),
            ));
        }
    }

    let problems = Mutex::new(Diagnostics::default());
    let written = files
        .map(|file| match file {
            Ok(f) => write_one(&staging, &f).map(|()| 1),
            Err(d) => {
                problems.lock().unwrap_or_else(|e| e.into_inner()).push(d);
                Ok(0)
            }
        })
        .try_reduce(|| 0, |a, b| Ok(a + b));
    let problems = problems.into_inner().unwrap_or_else(|e| e.into_inner());
    let count = match (written, problems.has_errors()) {
        (Ok(n), false) => n,
        (Err(e), _) => return Err(discard(&staging, WriteError::Io(e))),
        (_, true) => return Err(discard(&staging, WriteError::Content(problems))),
    };
    if out.exists() {
        if !out.is_dir() {
            let e = io::Error::other(format!("{} exists and is not a folder", out.display()));
            return Err(discard(&staging, WriteError::Io(e)));
        }
        crate::fs::rename(out, &retired).map_err(|e| discard(&staging, WriteError::Io(e)))?;
    }
    if let Err(e) = crate::fs::rename(&staging, out) {
        // Put the previous site back before reporting.
        let _ = crate::fs::rename(&retired, out);
        return Err(discard(&staging, WriteError::Io(e)));
    }
    crate::fs::remove_dir_all(&retired).map_err(WriteError::Io)?;
    Ok(count)
}

/// Writes one file; a folder is created only the first time a file in it misses it.
fn write_one(root: &Path, f: &OutputFile) -> io::Result<()> {
    let target = root.join(&f.path);
    let attempt = |target: &Path| match &f.content {
        Content::Bytes(b) => std::fs::write(target, b),
        Content::Copy(src) => std::fs::copy(src, target).map(|_| ()),
    };
    match attempt(&target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(dir) = target.parent() {
                crate::fs::create_dir_all(dir)?;
            }
            attempt(&target).map_err(|e| crate::fs::named(e, &target))
        }
        other => other.map_err(|e| crate::fs::named(e, &target)),
    }
}

fn discard(staging: &Path, e: WriteError) -> WriteError {
    let _ = crate::fs::remove_dir_all(staging);
    e
}

/// Staging folders of builds that were killed mid-way.
fn remove_leftovers(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&format!(".{name}.tmp-build-")) || n.starts_with(&format!(".{name}.old-build-")) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
