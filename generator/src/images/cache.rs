//! The derivative cache: `<cache>/images/<key>.<ext>`, where the key is a SHA-256 of the source's
//! bytes, the operation and the encoder settings — never a process-dependent hash. Entries are
//! written to a temp file and renamed, so an interrupted build never leaves a broken image, and
//! entries no build uses any more are pruned.

use rustc_hash::FxHashSet as HashSet;
use std::io;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Cache {
    pub dir: PathBuf,
    /// File names present when the build started: one `readdir` instead of a `stat` per file.
    present: HashSet<String>,
}

impl Cache {
    pub fn open(root: &Path) -> io::Result<Cache> {
        let dir = root.join("images");
        crate::fs::create_dir_all(&dir)?;
        let present = std::fs::read_dir(&dir)
            .map_err(|e| crate::fs::named(e, &dir))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        Ok(Cache { dir, present })
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn contains(&self, file: &str) -> bool {
        self.present.contains(file)
    }

    /// Deletes entries not in `used` (and temp files of interrupted builds); returns how many.
    pub fn prune(&self, used: &HashSet<&str>) -> usize {
        let mut removed = 0;
        for name in &self.present {
            if !used.contains(name.as_str()) && std::fs::remove_file(self.dir.join(name)).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}
