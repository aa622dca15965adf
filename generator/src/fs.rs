//! File-system helpers whose errors always name the path (a bare "No such file" helps nobody).

use std::io;
use std::path::{Path, PathBuf};

pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| named(e, path))
}

pub fn read_to_string(path: &Path) -> io::Result<String> {
    std::fs::read_to_string(path).map_err(|e| named(e, path))
}

pub fn create_dir_all(path: &Path) -> io::Result<()> {
    std::fs::create_dir_all(path).map_err(|e| named(e, path))
}

pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    std::fs::write(path, bytes).map_err(|e| named(e, path))
}

pub fn copy(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(parent) = to.parent() {
        create_dir_all(parent)?;
    }
    std::fs::copy(from, to).map(|_| ()).map_err(|e| named(e, from))
}

pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::rename(from, to).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("renaming {} to {}: {e}", from.display(), to.display()),
        )
    })
}

pub fn remove_dir_all(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(named(e, path)),
        _ => Ok(()),
    }
}

/// Every file under `dir` (hidden ones left out), as (`/`-separated path relative to `dir`, full
/// path), sorted. A missing folder has no files; a file or folder the walk cannot read, or an
/// entry that is not a regular file, is an error, never a gap: deploy plans deletions from this listing, and a silently missing file
/// would be deleted from the live site.
pub fn files_under(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        // Hidden folders are skipped whole, not walked and then filtered.
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            let io = e
                .into_io_error()
                .unwrap_or_else(|| io::Error::other("a file system loop"));
            named(io, &path)
        })?;
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            // A link or a special file: the site and its themes hold only regular files, and
            // a link could point anywhere on the machine.
            return Err(named(
                io::Error::other("not a regular file (a link, pipe or socket)"),
                entry.path(),
            ));
        }
        let Ok(rel) = entry.path().strip_prefix(dir) else {
            continue;
        };
        let rel: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        out.push((rel.join("/"), entry.path().to_path_buf()));
    }
    Ok(out)
}

/// Writes `bytes` to a temp file beside `path`, then renames it into place, so a reader never
/// sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_beside(path);
    write(&tmp, bytes)?;
    rename(&tmp, path)
}

/// [`write_atomic`] for what `fill` writes, through a buffer: a file of megabytes (the output's
/// manifest, the pages' state) is never held whole in memory. A failed `fill` leaves `path` as
/// it was.
pub fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut dyn io::Write) -> io::Result<()>) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    let tmp = temp_beside(path);
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut w = io::BufWriter::with_capacity(64 * 1024, file);
        fill(&mut w)?;
        w.into_inner().map(drop).map_err(io::IntoInnerError::into_error)
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(named(e, path));
    }
    rename(&tmp, path)
}

/// A temp file's name beside `path`, this process's and thread's own.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ))
}

/// Now, in nanoseconds since the epoch: what file times are compared with.
pub fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// Modification time in nanoseconds since the epoch (0 when the platform cannot say).
pub fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128)
}

pub use chalet_types::hex;

pub fn named(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_written_through_a_buffer_replaces_the_old_one_whole_or_not_at_all() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("deep/state");
        // Larger than the buffer: written in several pieces, seen only whole.
        let line = "0123456789abcdef".repeat(8);
        write_atomic_with(&path, |w| (0..1000).try_for_each(|_| writeln!(w, "{line}"))).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.len(), 1000 * (line.len() + 1));
        // A writer that fails half-way leaves the last file as it was, and no temp file.
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        })
        .expect_err("failed");
        assert!(err.to_string().contains("state"), "names the file: {err}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
        let left: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, ["state"]);
    }
}
