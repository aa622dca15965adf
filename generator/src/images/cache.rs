//! The derivative cache: `<cache>/images/<key>.<ext>`, where the key is a SHA-256 of the source's
//! bytes, the operation and the encoder settings — never a process-dependent hash. Entries are
//! written to a temp file and renamed, so an interrupted build never leaves a broken image, and
//! entries no build uses any more are pruned.
//!
//! Listing the folder is the slow part of a rebuild with photos (37,000 entries for 6,200
//! photos: a third of a rebuild that changed nothing). So a build that finished records the
//! folder as it left it — every entry one it used, no other — by the folder's modification time
//! (which any entry added, removed or renamed changes) and a record of the names it used (their
//! count and a hash of what they are made from: [`crate::images::ImagePlan::cache_record`]).
//! The next build lists the folder only if the folder changed since, or uses other names
//! ([`Cache::expect`]) — and then it names them. A folder changed less than [`RACY_NS`] before the record
//! was made is not trusted by its time (a change in the same clock tick keeps it).

use crate::validate::reuse::RACY_NS;
use rustc_hash::FxHashSet as HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The record of the folder a build left, beside (not in) the folder.
const RECORD: &str = "images.state";
const FORMAT: &str = "chalet-images 2";

#[derive(Debug)]
pub struct Cache {
    pub dir: PathBuf,
    /// What the last build left, when the folder has not changed since: its names' record.
    left: Option<(usize, u128)>,
    /// Every name this build uses is present, and no other ([`Cache::expect`]).
    settled: bool,
    /// The record of the names this build uses, as [`Cache::finish`] keeps it.
    used: (usize, u128),
    /// The folder's file names, listed when first needed: one `readdir` instead of a `stat` per file.
    present: OnceLock<HashSet<String>>,
}

fn mtime_of(dir: &Path) -> Option<i128> {
    std::fs::metadata(dir).ok().map(|m| crate::fs::mtime_ns(&m))
}

impl Cache {
    pub fn open(root: &Path) -> io::Result<Cache> {
        let dir = root.join("images");
        crate::fs::create_dir_all(&dir)?;
        let left = std::fs::read_to_string(root.join(RECORD)).ok().and_then(|text| {
            let mut lines = text.lines();
            if lines.next() != Some(FORMAT) {
                return None;
            }
            let mut number = || lines.next().and_then(|l| l.parse::<i128>().ok());
            let (mtime, recorded, count) = (number()?, number()?, number()?);
            let hash = u128::from_str_radix(lines.next()?, 16).ok()?;
            (mtime_of(&dir) == Some(mtime) && mtime < recorded - RACY_NS)
                .then_some((usize::try_from(count).ok()?, hash))
        });
        Ok(Cache {
            dir,
            left,
            settled: false,
            used: (0, 0),
            present: OnceLock::new(),
        })
    }

    fn present(&self) -> &HashSet<String> {
        self.present.get_or_init(|| {
            std::fs::read_dir(&self.dir)
                .map(|list| {
                    list.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// The record of the names this build uses (equal records, equal names): when the folder
    /// is as the last build left it and that build used the same names, they are all there and
    /// nothing else is — the folder need not be listed, nor the names made.
    pub fn expect(&mut self, used: (usize, u128)) {
        self.used = used;
        self.settled = self.left == Some(self.used);
    }

    /// Whether the folder holds exactly the names expected ([`Cache::expect`]).
    pub fn settled(&self) -> bool {
        self.settled
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn contains(&self, file: &str) -> bool {
        self.settled || self.present().contains(file)
    }

    /// Deletes entries not in `used` — the names [`Cache::expect`] was given the record of,
    /// asked for only when the folder was not as expected — (and temp files of interrupted
    /// builds), then records the folder as this build leaves it; returns how many entries went.
    pub fn finish(&self, used: impl FnOnce() -> HashSet<String>) -> usize {
        let mut removed = 0;
        if !self.settled {
            let used = used();
            for name in self.present() {
                if !used.contains(name) && std::fs::remove_file(self.dir.join(name)).is_ok() {
                    removed += 1;
                }
            }
        }
        let record = self.dir.parent().map(|root| root.join(RECORD));
        if let (Some(record), Some(mtime)) = (record, mtime_of(&self.dir)) {
            let (count, hash) = self.used;
            let text = format!("{FORMAT}\n{mtime}\n{}\n{count}\n{hash:032x}\n", crate::fs::now_ns());
            // Losing the record costs the next build one listing, nothing else.
            let _ = crate::fs::write_atomic(&record, text.as_bytes());
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(dir: &Path) {
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::open(dir)
            .and_then(|f| f.set_modified(old))
            .expect("age the folder");
    }

    #[test]
    fn the_folder_is_listed_again_unless_it_is_as_the_last_build_left_it() {
        let root = tempfile::tempdir().expect("tmp");
        let mut cache = Cache::open(root.path()).expect("open");
        for name in ["a.webp", "b.webp", "old.webp"] {
            std::fs::write(cache.path(name), name).expect("write");
        }
        let used = || -> HashSet<String> { ["a.webp", "b.webp"].map(String::from).into_iter().collect() };
        // The plan's record of those names (any value: equal records stand for equal names).
        let record = (2, 0xab);
        assert!(cache.contains("a.webp") && !cache.contains("c.webp"));
        cache.expect(record);
        assert_eq!(cache.finish(used), 1, "the unused entry goes");
        // Recorded right after a change: not trusted by its time.
        let mut next = Cache::open(root.path()).expect("open");
        next.expect(record);
        assert!(!next.settled);
        // Settled: the same names, the folder untouched since; the names are not even asked for.
        age(&next.dir);
        next.finish(used);
        let mut settled = Cache::open(root.path()).expect("open");
        settled.expect(record);
        assert!(settled.settled && settled.present.get().is_none(), "not listed");
        assert!(settled.contains("a.webp"));
        assert_eq!(settled.finish(|| panic!("names asked of a settled folder")), 0);
        // Other names, or an entry deleted by hand: listed again, and the truth is told.
        let mut other = Cache::open(root.path()).expect("open");
        other.expect((2, 0xcd));
        assert!(!other.settled && !other.contains("c.webp"));
        std::fs::remove_file(settled.path("b.webp")).expect("delete");
        let mut after = Cache::open(root.path()).expect("open");
        after.expect(record);
        assert!(!after.settled && !after.contains("b.webp"), "the folder changed");
    }
}
