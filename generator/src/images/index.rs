//! What we know about each source image, keyed by its path and remembered between builds, so an
//! unchanged file (same size and modification time) is neither re-read nor re-hashed — the way
//! git's index avoids re-hashing a work tree. A stale or unreadable index only costs time.

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    pub size: u64,
    pub mtime_ns: i128,
    /// SHA-256 of the file's bytes, hex.
    pub hash: String,
    /// Size after EXIF orientation.
    pub width: u32,
    pub height: u32,
    pub alpha: bool,
    /// Average colour, the placeholder shown before the image loads; `None` until processed.
    pub color: Option<[u8; 3]>,
}

#[derive(Clone, Debug, Default)]
pub struct SourceIndex {
    entries: HashMap<String, SourceInfo>,
    changed: bool,
}

impl SourceIndex {
    pub fn load(path: &Path) -> SourceIndex {
        let Ok(text) = std::fs::read_to_string(path) else {
            return SourceIndex::default();
        };
        // Sized once: growing a table of 6,200 photos step by step rehashed it a dozen times.
        let mut entries = HashMap::with_capacity_and_hasher(line_count(&text), Default::default());
        entries.extend(text.lines().filter_map(parse_line));
        SourceIndex {
            entries,
            changed: false,
        }
    }

    /// The entry for `rel` if the file still has the size and time it had when indexed.
    pub fn fresh(&self, rel: &str, size: u64, mtime_ns: i128) -> Option<&SourceInfo> {
        self.entries
            .get(rel)
            .filter(|i| i.size == size && i.mtime_ns == mtime_ns)
    }

    /// Records `info` for `rel`; copied only when it is news (a rebuild plans 6,200 known photos).
    pub fn insert(&mut self, rel: &str, info: &SourceInfo) {
        if self.entries.get(rel) != Some(info) {
            self.entries.insert(rel.to_string(), info.clone());
            self.changed = true;
        }
    }

    pub fn set_color(&mut self, rel: &str, color: [u8; 3]) {
        if let Some(e) = self.entries.get_mut(rel)
            && e.color != Some(color)
        {
            e.color = Some(color);
            self.changed = true;
        }
    }

    pub fn get(&self, rel: &str) -> Option<&SourceInfo> {
        self.entries.get(rel)
    }

    /// Keeps only the sources of this build, and writes the index if anything changed.
    pub fn save<'a>(&mut self, path: &Path, keep: impl Iterator<Item = &'a str>) -> std::io::Result<()> {
        let before = self.entries.len();
        let keep: rustc_hash::FxHashSet<&str> = keep.collect();
        self.entries.retain(|k, _| keep.contains(k.as_str()));
        if !self.changed && before == self.entries.len() {
            return Ok(());
        }
        let mut keys: Vec<&String> = self.entries.keys().collect();
        keys.sort();
        let mut out = String::new();
        for k in keys {
            let e = &self.entries[k];
            let color = e
                .color
                .map_or_else(|| "-".to_string(), |c| format!("{:02x}{:02x}{:02x}", c[0], c[1], c[2]));
            out.push_str(&format!(
                "{k}\t{}\t{}\t{}\t{}\t{}\t{}\t{color}\n",
                e.size,
                e.mtime_ns,
                e.hash,
                e.width,
                e.height,
                u8::from(e.alpha)
            ));
        }
        crate::fs::write_atomic(path, out.as_bytes())?;
        self.changed = false;
        Ok(())
    }
}

fn line_count(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count() + 1
}

fn parse_line(line: &str) -> Option<(String, SourceInfo)> {
    let mut fields = line.split('\t');
    let f: [&str; 8] = std::array::from_fn(|_| fields.next().unwrap_or(""));
    if fields.next().is_some() || f[7].is_empty() {
        return None;
    }
    let color = match f[7] {
        "-" => None,
        hex if hex.len() == 6 => {
            let b = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
            Some([b(0)?, b(2)?, b(4)?])
        }
        _ => return None,
    };
    Some((
        f[0].to_string(),
        SourceInfo {
            size: f[1].parse().ok()?,
            mtime_ns: f[2].parse().ok()?,
            hash: f[3].to_string(),
            width: f[4].parse().ok()?,
            height: f[5].parse().ok()?,
            alpha: f[6] == "1",
            color,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_changes() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("index.tsv");
        let mut idx = SourceIndex::default();
        let info = SourceInfo {
            size: 10,
            mtime_ns: 5,
            hash: "ab".into(),
            width: 4,
            height: 3,
            alpha: true,
            color: Some([1, 2, 255]),
        };
        idx.insert("a/b.jpg", &info);
        idx.save(&path, ["a/b.jpg"].into_iter()).expect("save");
        let back = SourceIndex::load(&path);
        assert_eq!(back.fresh("a/b.jpg", 10, 5), Some(&info));
        assert_eq!(back.fresh("a/b.jpg", 11, 5), None, "a new size means a new file");
        assert_eq!(back.fresh("a/b.jpg", 10, 6), None, "a new time means a new file");
    }
}
