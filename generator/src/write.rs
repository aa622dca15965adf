//! Stage 5, the only one that touches the output folder: the whole site is written into a
//! sibling folder, then swapped in with two renames. A build that fails before this stage never
//! reaches it; one that fails during it leaves the previous site exactly as it was.

use crate::render::{Content, OutputFile};
use rayon::prelude::*;
use std::io;
use std::path::{Path, PathBuf};

pub fn write_site(out: &Path, files: &[OutputFile]) -> io::Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    crate::fs::create_dir_all(&parent)?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dist".into());
    let pid = std::process::id();
    let staging = parent.join(format!(".{name}.tmp-build-{pid}"));
    let retired = parent.join(format!(".{name}.old-build-{pid}"));
    remove_leftovers(&parent, &name);
    crate::fs::create_dir_all(&staging)?;

    let written: io::Result<()> = files.par_iter().try_for_each(|f| {
        let target = staging.join(&f.path);
        match &f.content {
            Content::Bytes(b) => crate::fs::write(&target, b),
            Content::Copy(src) => crate::fs::copy(src, &target),
        }
    });
    if let Err(e) = written {
        let _ = crate::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if out.exists() {
        if !out.is_dir() {
            let _ = crate::fs::remove_dir_all(&staging);
            return Err(io::Error::other(format!(
                "{} exists and is not a folder",
                out.display()
            )));
        }
        crate::fs::rename(out, &retired)?;
    }
    if let Err(e) = crate::fs::rename(&staging, out) {
        // Put the previous site back before reporting.
        let _ = crate::fs::rename(&retired, out);
        return Err(e);
    }
    crate::fs::remove_dir_all(&retired)
}

/// Staging folders of builds that were killed mid-way.
fn remove_leftovers(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&format!(".{name}.tmp-build-")) || n.starts_with(&format!(".{name}.old-build-")) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
