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
        for line in text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let line = line.strip_suffix('\n').unwrap_or(line);
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
                }
            }
        }
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
/// `entries`: the files, sorted by path ([`super::Hashes`]). `old`: the manifest the output had, whose lines of unchanged groups are copied, not made
/// again; `changed`: the groups it does not hold as they are.
pub(super) fn write_manifest<G: Group>(
    w: &mut dyn std::io::Write,
    entries: &[(String, u128)],
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
    for (p, h) in entries {
        put_hex(w, *h)?;
        for part in ["\t", p, "\n"] {
            w.write_all(part.as_bytes())?;
        }
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
