//! Where a build may write: the output folder is replaced whole by every build, so it must be
//! apart from what the build reads.

use crate::build::{BuildError, BuildOptions};
use std::path::{Path, PathBuf};

/// A path made absolute with `.` and `..` resolved through what exists on disk (links
/// included), the rest lexically: the output folder usually does not exist yet.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out = existing.canonicalize().unwrap_or_else(|_| existing.to_path_buf());
    for part in rest.iter().rev() {
        match part.to_str() {
            Some("..") => {
                out.pop();
            }
            Some(".") => {}
            _ => out.push(part),
        }
    }
    out
}

/// The output folder is replaced whole by every build: it must not be, contain or sit inside
/// the content folder or the themes folder, or a build would delete them.
pub fn check(opts: &BuildOptions) -> Result<(), BuildError> {
    let out = resolved(&opts.out);
    for (what, dir) in [("content", &opts.content), ("themes", &opts.themes_dir())] {
        let dir = resolved(dir);
        if out.starts_with(&dir) || dir.starts_with(&out) {
            return Err(BuildError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "--out {} would replace the {what} folder {} (or share it): choose a folder beside it, e.g. --out dist",
                    opts.out.display(),
                    dir.display()
                ),
            )));
        }
    }
    Ok(())
}
