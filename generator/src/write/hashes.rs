//! The hashes of the files a build wrote, by path.

/// Files with their content hashes, sorted by path: looked up by binary search (a map of
/// 21,000 paths was 1.6 MB beside the list it was made from).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hashes(Vec<(String, u128)>);

impl Hashes {
    pub fn new(mut files: Vec<(String, u128)>) -> Hashes {
        files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Hashes(files)
    }

    pub fn get(&self, path: &str) -> Option<u128> {
        let i = self.0.binary_search_by(|(p, _)| p.as_str().cmp(path)).ok()?;
        Some(self.0[i].1)
    }

    pub fn contains(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// The files whose path begins with `prefix`, in path order.
    pub fn under<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = (&'s str, u128)> {
        let from = self.0.partition_point(|(p, _)| p.as_str() < prefix);
        self.0[from..]
            .iter()
            .take_while(move |(p, _)| p.starts_with(prefix))
            .map(|(p, h)| (p.as_str(), *h))
    }

    /// In path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u128)> {
        self.0.iter().map(|(p, h)| (p.as_str(), *h))
    }

    pub(super) fn files(&self) -> &[(String, u128)] {
        &self.0
    }
}
