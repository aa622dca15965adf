//! The content folder's files by path, with their stamps, in two allocations.
//!
//! A listing is made on every build and holds every file: 22,000 at 20,000 products. As a
//! B-tree of strings it was 22,000 small allocations and 3 MB, and a rebuild's peak memory
//! kept them long after they were freed (scattered among the build's other allocations). Here
//! the paths follow one another in one string and the list of where each is, with its stamp,
//! is one vector, sorted by path.

use super::FileMeta;

#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// The paths one after another (a removed path's bytes stay until [`Listing::retain`]).
    paths: String,
    /// Sorted by path, one per file.
    spots: Vec<Spot>,
}

/// Where a path is in [`Listing::paths`], with its file's stamp: 32 bytes (a [`FileMeta`] is
/// 32 alone, its `i128` aligned to 16).
#[derive(Clone, Copy, Debug)]
struct Spot {
    start: u32,
    len: u32,
    size: u64,
    mtime_lo: u64,
    mtime_hi: i64,
}

impl Spot {
    fn meta(&self) -> FileMeta {
        FileMeta {
            len: self.size,
            mtime_ns: (i128::from(self.mtime_hi) << 64) | i128::from(self.mtime_lo),
        }
    }
}

/// The path of `s` in a listing's `paths` (a function of the text alone, so it can be called
/// while the spots are being changed).
fn path_in<'a>(paths: &'a str, s: &Spot) -> &'a str {
    &paths[s.start as usize..(s.start + s.len) as usize]
}

/// A place or length in the paths' text: a content folder's paths run to megabytes, not to the
/// gigabytes that would not fit.
fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("a content folder's paths fit in 4 GB")
}

impl Listing {
    fn path(&self, s: &Spot) -> &str {
        path_in(&self.paths, s)
    }

    fn find(&self, path: &str) -> Result<usize, usize> {
        self.spots.binary_search_by(|s| self.path(s).cmp(path))
    }

    pub fn len(&self) -> usize {
        self.spots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spots.is_empty()
    }

    pub fn get(&self, path: &str) -> Option<FileMeta> {
        self.find(path).ok().map(|i| self.spots[i].meta())
    }

    pub fn contains_key(&self, path: &str) -> bool {
        self.find(path).is_ok()
    }

    /// Every path, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.spots.iter().map(|s| self.path(s))
    }

    /// Every path with its stamp, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, FileMeta)> {
        self.spots.iter().map(|s| (self.path(s), s.meta()))
    }

    /// The paths that start with `prefix`, in order.
    pub fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, FileMeta)> + 'a {
        let first = self.spots.partition_point(|s| self.path(s) < prefix);
        self.spots[first..]
            .iter()
            .map(|s| (self.path(s), s.meta()))
            .take_while(move |(p, _)| p.starts_with(prefix))
    }

    /// Adds `path` (or gives it a new stamp). One at a time, for a few files; a whole folder is
    /// [`Listing::push`]ed, then [`Listing::sort`]ed.
    pub fn insert(&mut self, path: &str, meta: FileMeta) {
        match self.find(path) {
            Ok(i) => self.spots[i] = spot(self.spots[i].start, path.len(), meta),
            Err(i) => {
                let spot = self.append(path, meta);
                self.spots.insert(i, spot);
            }
        }
    }

    /// Adds `path` at the end, out of order: [`Listing::sort`] before anything is looked up.
    pub fn push(&mut self, path: &str, meta: FileMeta) {
        let spot = self.append(path, meta);
        self.spots.push(spot);
    }

    /// In order again after [`Listing::push`] or [`Listing::extend`] (runs already in order, as
    /// a folder's files are, cost a pass each); a path pushed twice keeps its last stamp.
    pub fn sort(&mut self) {
        let path = |s: &Spot| path_in(&self.paths, s);
        self.spots.sort_by(|a, b| path(a).cmp(path(b)));
        // Stable: of equal paths the last pushed is last, and kept (in place: a second list
        // of 22,000 was 0.7 MB).
        self.spots.dedup_by(|later, kept| {
            let same = path(later) == path(kept);
            if same {
                *kept = *later;
            }
            same
        });
    }

    /// Takes in `other`'s files, out of order: [`Listing::sort`] after.
    pub fn extend(&mut self, other: Listing) {
        let shift = offset(self.paths.len());
        self.paths.push_str(&other.paths);
        self.spots.extend(other.spots.into_iter().map(|s| Spot {
            start: s.start + shift,
            ..s
        }));
    }

    /// Room for the files of `others` (before they are [`Listing::extend`]ed in one by one).
    pub fn reserve_for<'a>(&mut self, others: impl Iterator<Item = &'a Listing> + Clone) {
        self.paths.reserve(others.clone().map(|o| o.paths.len()).sum());
        self.spots.reserve(others.map(|o| o.spots.len()).sum());
    }

    pub fn remove(&mut self, path: &str) -> Option<FileMeta> {
        let i = self.find(path).ok()?;
        Some(self.spots.remove(i).meta())
    }

    /// Keeps the paths `keep` accepts; the paths' text is made again when most of it would be
    /// left unused.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.spots.retain(|s| keep(path_in(&self.paths, s)));
        let used: usize = self.spots.iter().map(|s| s.len as usize).sum();
        if used < self.paths.len() / 2 {
            let old = std::mem::take(self);
            self.paths.reserve(used);
            for (p, m) in old.iter() {
                self.push(p, m);
            }
        }
    }

    fn append(&mut self, path: &str, meta: FileMeta) -> Spot {
        let start = offset(self.paths.len());
        self.paths.push_str(path);
        spot(start, path.len(), meta)
    }
}

fn spot(start: u32, len: usize, meta: FileMeta) -> Spot {
    Spot {
        start,
        len: offset(len),
        size: meta.len,
        // The two halves of the time, put back together by `Spot::meta`.
        mtime_lo: meta.mtime_ns as u64,
        mtime_hi: (meta.mtime_ns >> 64) as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(len: u64, mtime_ns: i128) -> FileMeta {
        FileMeta { len, mtime_ns }
    }

    #[test]
    fn a_listing_finds_lists_and_forgets_as_a_sorted_map_does() {
        let mut model = std::collections::BTreeMap::new();
        let mut listing = Listing::default();
        // Out of order, with `-` and `.` sorting before `/`, a path pushed twice, and times
        // before 1970 and past 2262 (an `i64` of nanoseconds holds neither).
        let pushed = [
            ("chalets/a/products/x.md", meta(1, 5)),
            ("chalets/a/products-old.md", meta(2, -7)),
            ("chalets/a.md", meta(3, i128::MAX - 1)),
            ("market.yaml", meta(4, i128::MIN + 3)),
            ("chalets/a/chalet.yaml", meta(5, 1 << 70)),
            ("chalets/a/products/x.md", meta(6, 9)),
        ];
        for (p, m) in pushed {
            listing.push(p, m);
            model.insert(p.to_string(), m);
        }
        listing.sort();
        let other = {
            let mut l = Listing::default();
            l.push("chalets/b/chalet.yaml", meta(7, 1));
            l.push("chalets/a/z.jpg", meta(8, 2));
            l
        };
        for (p, m) in other.iter() {
            model.insert(p.to_string(), m);
        }
        listing.extend(other);
        listing.sort();
        let same = |listing: &Listing, model: &std::collections::BTreeMap<String, FileMeta>| {
            let got: Vec<(String, FileMeta)> = listing.iter().map(|(p, m)| (p.to_string(), m)).collect();
            let want: Vec<(String, FileMeta)> = model.iter().map(|(p, m)| (p.clone(), *m)).collect();
            assert_eq!(got, want);
            for (p, m) in model {
                assert_eq!(listing.get(p), Some(*m), "{p}");
            }
        };
        same(&listing, &model);
        assert_eq!(
            listing.get("chalets/a/products/x.md"),
            Some(meta(6, 9)),
            "the last stamp"
        );
        assert_eq!(listing.get("chalets/a/products"), None);
        let under: Vec<&str> = listing.under("chalets/a/").map(|(p, _)| p).collect();
        let want: Vec<&str> = model
            .keys()
            .map(String::as_str)
            .filter(|p| p.starts_with("chalets/a/"))
            .collect();
        assert_eq!(under, want);

        listing.insert("chalets/a/products/y.md", meta(10, 10));
        listing.insert("chalets/a/chalet.yaml", meta(11, 11));
        model.insert("chalets/a/products/y.md".into(), meta(10, 10));
        model.insert("chalets/a/chalet.yaml".into(), meta(11, 11));
        same(&listing, &model);
        assert_eq!(listing.remove("market.yaml"), model.remove("market.yaml"));
        assert_eq!(listing.remove("market.yaml"), None);
        listing.retain(|p| !p.starts_with("chalets/a/"));
        model.retain(|p, _| !p.starts_with("chalets/a/"));
        same(&listing, &model);
        assert!(
            listing.paths.len() < 40,
            "the paths' text made again: {}",
            listing.paths.len()
        );
        assert_eq!(listing.len(), model.len());
    }
}
