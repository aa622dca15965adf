//! File-system helpers whose errors always name the path (a bare "No such file" helps nobody).

use std::io;
use std::path::Path;

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
/// path), sorted. A missing folder has no files.
pub fn files_under(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    if !dir.is_dir() {
        return Vec::new();
    }
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() && !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| {
            let rel = e.path().strip_prefix(dir).ok()?;
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            Some((rel.join("/"), e.path().to_path_buf()))
        })
        .collect()
}

pub fn named(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
