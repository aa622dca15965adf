//! The output folder's manifest (`.chalet-manifest`): each file's content hash by path, and
//! each group's (a photo's derivatives) hash and paths on one line. What a rebuild compares
//! its files with, and the one place that writes and reads a file's hash as text.

use super::{Group, MANIFEST};
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

fn path_hash(path: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(path.as_bytes())
}

/// A group's name as the manifest holds it: one line, its fields apart (a photo's file name
/// may hold a tab).
pub(super) fn manifest_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.contains(|c: char| c.is_control()) {
        name.escape_default().to_string().into()
    } else {
        name.into()
    }
}

/// A file's hash as the manifest and the incremental state write it: 32 lower-case
/// hexadecimal digits.
pub fn hash_text(hash: u128) -> String {
    let mut text = String::with_capacity(32);
    chalet_types::encoding::push_hex(&mut text, &hash.to_be_bytes());
    text
}

/// [`hash_text`] read back; `None` for anything else (upper case, a sign, fewer digits): such
/// a hash could not be written back as it was, so it is never taken for one this program wrote.
pub fn hash_value(text: &str) -> Option<u128> {
    let digits = text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    digits.then(|| u128::from_str_radix(text, 16).ok()).flatten()
}

/// The output folder's manifest, read in place: each file's content hash by path, and each
/// group's hash and paths by name.
#[derive(Debug, Default)]
pub struct Manifest<'a> {
    text: &'a str,
    /// Each file's line by the xxh3-64 of its path: (hash, where the line starts), sorted. Found
    /// by binary search in 16 bytes a file, its path compared only there (a map of 21,000
    /// paths was 1 MB; a search of the lines themselves, a cache miss per step).
    files: Vec<(u64, u32)>,
    groups: HashMap<&'a str, (&'a str, &'a str)>,
    /// The groups' lines, when they end the text one after the other (as this program writes
    /// them): a build whose groups are all as they were copies them whole.
    pub(super) group_lines: Option<&'a str>,
    /// Each chalet's pages' lines (`chalets/<slug>/…`), when they lie together (as this program
    /// writes them, in path order): their digest ([`LinesDigest`]) and where they lie.
    units: HashMap<&'a str, Option<(u128, u32, u32)>>,
}

/// The digest of manifest lines, made the same from the text and from files' hashes: what the
/// incremental state compares to know that the output holds a chalet's pages as written.
#[derive(Default)]
pub struct LinesDigest(xxhash_rust::xxh3::Xxh3);

impl std::fmt::Debug for LinesDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinesDigest({:032x})", self.finish())
    }
}

impl LinesDigest {
    /// One file's line, as [`write_manifest`] writes it.
    pub fn add(&mut self, path: &str, hash: u128) {
        let mut hex = String::with_capacity(32);
        chalet_types::encoding::push_hex(&mut hex, &hash.to_be_bytes());
        for part in [hex.as_str(), "\t", path, "\n"] {
            self.0.update(part.as_bytes());
        }
    }

    fn add_line(&mut self, line: &str) {
        self.0.update(line.as_bytes());
    }

    pub fn finish(&self) -> u128 {
        self.0.digest128()
    }
}

/// `chalets/<slug>/…` → `<slug>`: the chalet whose pages a file is.
pub fn unit_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(chalet_types::routes::CHALETS)?.strip_prefix('/')?;
    rest.split_once('/').map(|(slug, _)| slug)
}

/// A chalet whose pages a build did not make: the output holds them as the last build wrote
/// them (their lines in the manifest are those the incremental state recorded), and the new
/// manifest takes their lines as they are.
#[derive(Clone, Debug)]
pub struct KeptUnit<'a> {
    pub(super) slug: &'a str,
    /// `chalets/<slug>/`.
    pub(super) prefix: String,
    pub(super) lines: &'a str,
}

impl<'a> Manifest<'a> {
    /// `None` for a damaged manifest (a line without its hash): the output is written whole.
    pub fn parse(text: &'a str) -> Option<Manifest<'a>> {
        let mut m = Manifest {
            text,
            ..Manifest::default()
        };

        let mut groups_from = None;
        let mut file_after_group = false;
        let mut offset = 0;
        // The chalet whose lines are being read: its slug, where they began, their digest.
        let mut unit: Option<(&str, usize, LinesDigest)> = None;
        let end_unit = |m: &mut Manifest<'a>, unit: Option<(&'a str, usize, LinesDigest)>, end: usize| {
            if let Some((slug, start, digest)) = unit {
                // Met twice: its lines are not together, and it is never taken as it was.
                let place = (u32::try_from(start).ok(), u32::try_from(end).ok());
                let value = match place {
                    (Some(a), Some(b)) if !m.units.contains_key(slug) => Some((digest.finish(), a, b)),
                    _ => None,
                };
                m.units.insert(slug, value);
            }
        };
        for whole in text.split_inclusive('\n') {
            let start = offset;
            offset += whole.len();
            let line = whole.strip_suffix('\n').unwrap_or(whole);
            let (hash, rest) = line.split_once('\t')?;
            match rest.strip_prefix('@') {
                Some(group) => {
                    let (name, paths) = group.split_once('\t')?;
                    m.groups.insert(name, (hash, paths));
                    groups_from.get_or_insert(start);
                }
                None => {
                    m.files.push((path_hash(rest), u32::try_from(start).ok()?));
                    file_after_group |= groups_from.is_some();
                    let slug = unit_of(rest);
                    if unit.as_ref().map(|u| u.0) != slug {
                        end_unit(&mut m, unit.take(), start);
                        unit = slug.map(|s| (s, start, LinesDigest::default()));
                    }
                    if let Some((_, _, digest)) = &mut unit {
                        digest.add_line(whole);
                    }
                    continue;
                }
            }
            end_unit(&mut m, unit.take(), start);
        }
        end_unit(&mut m, unit.take(), offset);
        m.files.sort_unstable();
        // A file after a group: the groups' lines are not one piece.
        m.group_lines = groups_from
            .filter(|_| !file_after_group)
            .and_then(|from| text.get(from..))
            .filter(|lines| lines.ends_with('\n'));
        Some(m)
    }

    /// Whether it records exactly `count` groups when none of them changed (`changed` holds the
    /// groups it does not record with their hash): each other was found here by its name, names
    /// are unique, so equal counts leave no group of its own gone.
    pub(super) fn same_groups(&self, count: usize, changed: &[usize]) -> bool {
        changed.is_empty() && count == self.groups.len()
    }

    /// The digest of the lines of `slug`'s pages, when they lie together ([`LinesDigest`]).
    pub fn unit_digest(&self, slug: &str) -> Option<u128> {
        self.units.get(slug).copied().flatten().map(|(d, _, _)| d)
    }

    /// The chalet `slug` as the manifest holds it, for a build that does not make its pages.
    pub fn kept_unit(&self, slug: &str) -> Option<KeptUnit<'a>> {
        let (&slug, &place) = self.units.get_key_value(slug)?;
        let (_, start, end) = place?;
        Some(KeptUnit {
            slug,
            prefix: format!("{}/{slug}/", chalet_types::routes::CHALETS),
            lines: self.text.get(start as usize..end as usize)?,
        })
    }

    /// The hash of the file at `path`, when the output holds it (a group's files are not here).
    pub fn get(&self, path: &str) -> Option<&'a str> {
        let h = path_hash(path);
        let from = self.files.partition_point(|&(k, _)| k < h);
        self.files[from..]
            .iter()
            .take_while(|&&(k, _)| k == h)
            .map(|&(_, at)| self.file(at))
            .find(|(p, _)| *p == path)
            .map(|(_, hash)| hash)
    }

    /// Every file but the groups', with its hash, in no particular order.
    pub fn files(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.files.iter().map(|&(_, at)| self.file(at))
    }

    /// The (path, hash) of the file line at `at` (checked by [`Manifest::parse`]).
    fn file(&self, at: u32) -> (&'a str, &'a str) {
        let line = &self.text[at as usize..];
        let line = line.split_once('\n').map_or(line, |(l, _)| l);
        let (hash, path) = line.split_once('\t').unwrap_or_default();
        (path, hash)
    }

    /// Every group's name with its paths (space-separated).
    pub(super) fn groups(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.groups.iter().map(|(name, (_, paths))| (*name, *paths))
    }

    pub(super) fn group(&self, name: &str) -> Option<(&'a str, &'a str)> {
        self.groups.get(name).copied()
    }
}

/// Whether a manifest's hash (hex) is `hash`.
pub(super) fn same_hash(text: &str, hash: u128) -> bool {
    hash_value(text) == Some(hash)
}

/// The output folder's manifest as text, for [`Manifest::parse`].
pub fn read_manifest(out: &Path) -> Option<String> {
    std::fs::read_to_string(out.join(MANIFEST)).ok()
}

/// Writes the manifest to `w`, a line at a time (at 21,000 pages it is 2 MB: never held whole).
/// `entries`: the files, sorted by path ([`super::Hashes`]); `kept`: the chalets whose pages
/// this build did not make, sorted by prefix, their lines taken as they were (no entry lies
/// under one). `old`: the manifest the output had, whose lines of unchanged groups are copied, not made
/// again; `changed`: the groups it does not hold as they are.
pub(super) fn write_manifest<G: Group>(
    w: &mut dyn std::io::Write,
    entries: &[(String, u128)],
    kept: &[KeptUnit],
    groups: &[G],
    hashes: &[u128],
    old: Option<(&Manifest, &[usize])>,
) -> std::io::Result<()> {
    let kept_groups = old
        .filter(|(m, changed)| m.same_groups(groups.len(), changed))
        .and_then(|(m, _)| m.group_lines);
    let mut hex = String::with_capacity(32);
    let mut put_hex = |w: &mut dyn std::io::Write, h: u128| {
        hex.clear();
        chalet_types::encoding::push_hex(&mut hex, &h.to_be_bytes());
        w.write_all(hex.as_bytes())
    };
    // A path that does not begin with a prefix sorts wholly before or after every path that
    // does: a kept chalet's lines go in one piece, before the first entry after its prefix.
    let mut kept = kept.iter().peekable();
    for (p, h) in entries {
        while let Some(unit) = kept.next_if(|u| u.prefix.as_str() < p.as_str()) {
            w.write_all(unit.lines.as_bytes())?;
        }
        put_hex(w, *h)?;
        for part in ["\t", p, "\n"] {
            w.write_all(part.as_bytes())?;
        }
    }
    for unit in kept {
        w.write_all(unit.lines.as_bytes())?;
    }
    // Every group as it was: their lines are the old ones, in the same order.
    if let Some(lines) = kept_groups {
        return w.write_all(lines.as_bytes());
    }
    let old = old.map(|(m, _)| m);
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_unstable_by_key(|&i| groups[i].name());
    for i in order {
        let name = manifest_name(groups[i].name());
        put_hex(w, hashes[i])?;
        for part in ["\t@", &name, "\t"] {
            w.write_all(part.as_bytes())?;
        }
        match old
            .and_then(|m| m.group(&name))
            .filter(|(h, _)| same_hash(h, hashes[i]))
        {
            Some((_, paths)) => w.write_all(paths.as_bytes())?,
            None => {
                for (n, (path, _)) in groups[i].files().iter().enumerate() {
                    if n > 0 {
                        w.write_all(b" ")?;
                    }
                    w.write_all(path.as_bytes())?;
                }
            }
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_written_as_32_digits_and_read_back_only_so() {
        for h in [0, 1, 0xab, u128::MAX, 0x11 << 100] {
            let text = hash_text(h);
            assert_eq!(text.len(), 32);
            assert_eq!(hash_value(&text), Some(h));
            assert!(same_hash(&text, h));
        }
        let ab = hash_text(0xab);
        for odd in [
            ab.to_uppercase(),
            format!("+{}", &ab[1..]),
            ab[1..].to_string(),
            format!("{ab}0"),
            String::new(),
        ] {
            assert_eq!(hash_value(&odd), None, "{odd}");
            assert!(!same_hash(&odd, 0xab), "{odd}");
        }
    }
}
