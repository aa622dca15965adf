//! The output folder's manifest (`.chalet-manifest`): each file's content hash by path, and
//! each group's (a photo's derivatives) hash and paths on one line. What a rebuild compares
//! its files with, and the one place that writes and reads a file's hash as text.

use super::{Group, MANIFEST};
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

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

/// Where a manifest's lines are read from when asked: its file, held open from the first read
/// (another build replacing it meanwhile cannot mix its lines in), or a text.
trait Source: std::io::Read + std::io::Seek + Send {}
impl<T: std::io::Read + std::io::Seek + Send> Source for T {}

/// The output folder's manifest: each file's content hash by path, and each group's hash and
/// paths by name. Read once, a line at a time, and kept in part: the files of no chalet's
/// pages, the groups, and for each chalet where its pages' lines lie and their digest. A
/// chalet's files are read back only when asked ([`Manifest::load_units`]): a rebuild after one
/// edit holds those of the changed chalets, not the 21,000 lines of a market (2 MB of text
/// and an index).
pub struct Manifest {
    source: std::sync::Mutex<Box<dyn Source>>,
    /// Path → hash as written: the files of no chalet's pages, and those of the chalets loaded.
    files: HashMap<String, String>,
    units: HashMap<String, Unit>,
    groups: HashMap<String, (String, String)>,
    /// Where the groups' lines lie, when they end the manifest one after the other (as this
    /// program writes them): a build whose groups are all as they were copies them whole.
    pub(super) group_lines: Option<(u64, u64)>,
    /// A chalet's lines could not be read back: the manifest cannot be trusted.
    broken: bool,
}

impl std::fmt::Debug for Manifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manifest")
            .field("files", &self.files.len())
            .field("units", &self.units.len())
            .field("groups", &self.groups.len())
            .finish()
    }
}

/// A chalet's pages' lines (`chalets/<slug>/…`).
#[derive(Debug)]
struct Unit {
    /// Their digest ([`LinesDigest`]), when they lie together (as this program writes them, in
    /// path order).
    digest: Option<u128>,
    /// Where they lie (byte ranges).
    ranges: Vec<(u64, u64)>,
    /// Whether its files are in [`Manifest::files`].
    loaded: bool,
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
        let mut line = String::new();
        file_line(&mut line, path, hash);
        self.0.update(line.as_bytes());
    }

    fn add_line(&mut self, line: &str) {
        self.0.update(line.as_bytes());
    }

    pub fn finish(&self) -> u128 {
        self.0.digest128()
    }
}

/// A file's line of the manifest, `<hash>\t<path>\n`, into `line` (cleared first): what
/// [`write_manifest`] writes and [`LinesDigest::add`] hashes, so a chalet's recorded digest is
/// that of its lines as written.
fn file_line(line: &mut String, path: &str, hash: u128) {
    line.clear();
    chalet_types::encoding::push_hex(line, &hash.to_be_bytes());
    for part in ["\t", path, "\n"] {
        line.push_str(part);
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
pub struct KeptUnit {
    pub(super) slug: String,
    /// `chalets/<slug>/`.
    pub(super) prefix: String,
    /// Where its lines lie in the manifest.
    start: u64,
    end: u64,
}

impl Manifest {
    /// The manifest of the output folder `out`; `None` when there is none or it is damaged
    /// (then the output is written whole).
    pub fn open(out: &Path) -> Option<Manifest> {
        Manifest::read(Box::new(std::fs::File::open(out.join(MANIFEST)).ok()?))
    }

    /// A manifest from its text.
    pub fn parse(text: &str) -> Option<Manifest> {
        Manifest::read(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())))
    }

    /// `None` for a damaged manifest (a line without its hash, not text).
    fn read(mut source: Box<dyn Source>) -> Option<Manifest> {
        use std::io::BufRead;
        let mut files = HashMap::default();
        let mut units: HashMap<String, Unit> = HashMap::default();
        let mut groups = HashMap::default();
        let mut reader = std::io::BufReader::with_capacity(64 * 1024, &mut source);
        let mut whole = String::new();
        let mut offset = 0u64;
        let mut groups_from = None;
        let mut file_after_group = false;
        let mut ends_line = true;
        // The chalet whose lines are being read: its slug, where they began, their digest.
        let mut unit: Option<(String, u64, LinesDigest)> = None;
        let mut end_unit = |unit: Option<(String, u64, LinesDigest)>, end: u64| {
            if let Some((slug, start, digest)) = unit {
                let u = units.entry(slug).or_insert(Unit {
                    digest: Some(digest.finish()),
                    ranges: Vec::new(),
                    loaded: false,
                });
                // Met twice: its lines are not together, and it is never taken as it was.
                if !u.ranges.is_empty() {
                    u.digest = None;
                }
                u.ranges.push((start, end));
            }
        };
        loop {
            whole.clear();
            let read = reader.read_line(&mut whole).ok()?;
            if read == 0 {
                break;
            }
            let start = offset;
            offset += read as u64;
            ends_line = whole.ends_with('\n');
            let line = whole.strip_suffix('\n').unwrap_or(&whole);
            let (hash, rest) = line.split_once('\t')?;
            match rest.strip_prefix('@') {
                Some(group) => {
                    let (name, paths) = group.split_once('\t')?;
                    groups.insert(name.to_string(), (hash.to_string(), paths.to_string()));
                    groups_from.get_or_insert(start);
                    end_unit(unit.take(), start);
                }
                None => {
                    file_after_group |= groups_from.is_some();
                    let slug = unit_of(rest);
                    if unit.as_ref().map(|u| u.0.as_str()) != slug {
                        end_unit(unit.take(), start);
                        unit = slug.map(|s| (s.to_string(), start, LinesDigest::default()));
                    }
                    match &mut unit {
                        Some((_, _, digest)) => digest.add_line(&whole),
                        None => {
                            files.insert(rest.to_string(), hash.to_string());
                        }
                    }
                }
            }
        }
        end_unit(unit.take(), offset);
        drop(reader);
        Some(Manifest {
            source: std::sync::Mutex::new(source),
            files,
            units,
            groups,
            // A file after a group: the groups' lines are not one piece.
            group_lines: groups_from
                .filter(|_| !file_after_group && ends_line)
                .map(|from| (from, offset)),
            broken: false,
        })
    }

    /// Reads back the files of the chalets `wanted` accepts (those whose pages a build makes,
    /// and those gone). When they cannot be read back the manifest is [`Manifest::broken`].
    pub fn load_units(&mut self, wanted: impl Fn(&str) -> bool) {
        let ranges: Vec<(u64, u64)> = self
            .units
            .iter_mut()
            .filter(|(slug, u)| !u.loaded && wanted(slug))
            .flat_map(|(_, u)| {
                u.loaded = true;
                u.ranges.clone()
            })
            .collect();
        for (start, end) in ranges {
            let Some(text) = self.read_range(start, end) else {
                self.broken = true;
                return;
            };
            for line in text.lines() {
                let Some((hash, path)) = line.split_once('\t') else {
                    self.broken = true;
                    return;
                };
                self.files.insert(path.to_string(), hash.to_string());
            }
        }
    }

    /// Whether a chalet's lines could not be read back: the output must be written whole.
    pub fn broken(&self) -> bool {
        self.broken
    }

    fn read_range(&self, start: u64, end: u64) -> Option<String> {
        use std::io::{Read, Seek};
        let mut source = self.source.lock().unwrap_or_else(|e| e.into_inner());
        source.seek(std::io::SeekFrom::Start(start)).ok()?;
        let mut text = String::new();
        source
            .as_mut()
            .take(end.checked_sub(start)?)
            .read_to_string(&mut text)
            .ok()?;
        Some(text)
    }

    /// Copies the bytes `start..end` of the manifest to `w`.
    fn copy_range(&self, w: &mut dyn std::io::Write, start: u64, end: u64) -> std::io::Result<()> {
        use std::io::{Read, Seek};
        let mut source = self.source.lock().unwrap_or_else(|e| e.into_inner());
        source.seek(std::io::SeekFrom::Start(start))?;
        let len = end.saturating_sub(start);
        if std::io::copy(&mut source.as_mut().take(len), w)? != len {
            return Err(std::io::Error::other("the output's manifest changed while it was read"));
        }
        Ok(())
    }

    /// Whether it records exactly `count` groups when none of them changed (`changed` holds the
    /// groups it does not record with their hash): each other was found here by its name, names
    /// are unique, so equal counts leave no group of its own gone.
    pub(super) fn same_groups(&self, count: usize, changed: &[usize]) -> bool {
        changed.is_empty() && count == self.groups.len()
    }

    /// The digest of the lines of `slug`'s pages, when they lie together ([`LinesDigest`]).
    pub fn unit_digest(&self, slug: &str) -> Option<u128> {
        self.units.get(slug).and_then(|u| u.digest)
    }

    /// The chalet `slug` as the manifest holds it, for a build that does not make its pages.
    pub fn kept_unit(&self, slug: &str) -> Option<KeptUnit> {
        let u = self.units.get(slug).filter(|u| u.digest.is_some())?;
        let &[(start, end)] = u.ranges.as_slice() else {
            return None;
        };
        Some(KeptUnit {
            slug: slug.to_string(),
            prefix: format!("{}/{slug}/", chalet_types::routes::CHALETS),
            start,
            end,
        })
    }

    /// The hash of the file at `path`, when the output holds it (a group's files are not here;
    /// a chalet's once loaded).
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// Every file read, with its hash, in no particular order: those of no chalet's pages and
    /// of the chalets loaded.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.files.iter().map(|(p, h)| (p.as_str(), h.as_str()))
    }

    /// Every group's name with its paths (space-separated).
    pub(super) fn groups(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.groups
            .iter()
            .map(|(name, (_, paths))| (name.as_str(), paths.as_str()))
    }

    pub(super) fn group(&self, name: &str) -> Option<(&str, &str)> {
        self.groups.get(name).map(|(h, p)| (h.as_str(), p.as_str()))
    }
}

/// Whether a manifest's hash (hex) is `hash`.
pub(super) fn same_hash(text: &str, hash: u128) -> bool {
    hash_value(text) == Some(hash)
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
        .and_then(|(m, _)| Some((m, m.group_lines?)));
    let copy = |w: &mut dyn std::io::Write, unit: &KeptUnit| match old {
        Some((m, _)) => m.copy_range(w, unit.start, unit.end),
        None => Err(std::io::Error::other("a chalet kept without the manifest it is in")),
    };
    let mut hex = String::with_capacity(32);
    let mut put_hex = |w: &mut dyn std::io::Write, h: u128| {
        hex.clear();
        chalet_types::encoding::push_hex(&mut hex, &h.to_be_bytes());
        w.write_all(hex.as_bytes())
    };
    // A path that does not begin with a prefix sorts wholly before or after every path that
    // does: a kept chalet's lines go in one piece, before the first entry after its prefix.
    let mut kept = kept.iter().peekable();
    let mut line = String::with_capacity(256);
    for (p, h) in entries {
        while let Some(unit) = kept.next_if(|u| u.prefix.as_str() < p.as_str()) {
            copy(w, unit)?;
        }
        file_line(&mut line, p, *h);
        w.write_all(line.as_bytes())?;
    }
    for unit in kept {
        copy(w, unit)?;
    }
    // Every group as it was: their lines are the old ones, in the same order.
    if let Some((m, (start, end))) = kept_groups {
        return m.copy_range(w, start, end);
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
    fn a_chalets_lines_are_read_back_only_when_asked_and_as_they_were_first_read() {
        let line = |h: u128, path: &str| format!("{}\t{path}\n", hash_text(h));
        let text = [
            line(1, "categories/c/index.html"),
            line(2, "chalets/a/index.html"),
            line(3, "chalets/a/x/index.html"),
            line(4, "chalets/b/index.html"),
            line(5, "index.html"),
            format!(
                "{}\t@chalets/a/p.jpg\timages/p-1.k.webp images/p-2.k.webp\n",
                hash_text(6)
            ),
        ]
        .concat();
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join(MANIFEST), &text).expect("write");
        let mut m = Manifest::open(dir.path()).expect("manifest");
        // Replaced after it was first read: what it reads back is still what it read first.
        std::fs::write(dir.path().join("other"), line(9, "chalets/a/index.html")).expect("write");
        std::fs::rename(dir.path().join("other"), dir.path().join(MANIFEST)).expect("rename");
        assert_eq!(m.get("index.html"), Some(hash_text(5).as_str()));
        assert_eq!(m.get("categories/c/index.html"), Some(hash_text(1).as_str()));
        assert_eq!(m.get("chalets/a/index.html"), None, "not read back yet");
        let mut a = LinesDigest::default();
        a.add("chalets/a/index.html", 2);
        a.add("chalets/a/x/index.html", 3);
        assert_eq!(m.unit_digest("a"), Some(a.finish()));
        m.load_units(|slug| slug == "a");
        assert!(!m.broken());
        assert_eq!(m.get("chalets/a/x/index.html"), Some(hash_text(3).as_str()));
        assert_eq!(m.get("chalets/b/index.html"), None);
        // b taken whole: its line copied as it was, among new entries and the groups as they were.
        let b = m.kept_unit("b").expect("b lies together");
        let entries = vec![("chalets/a/index.html".to_string(), 2), ("index.html".to_string(), 5)];
        let mut out = Vec::new();
        let no_groups: [Photo; 0] = [];
        write_manifest(&mut out, &entries, &[b], &no_groups, &[], Some((&m, &[]))).expect("written");
        assert_eq!(
            String::from_utf8(out).expect("text"),
            [
                line(2, "chalets/a/index.html"),
                line(4, "chalets/b/index.html"),
                line(5, "index.html")
            ]
            .concat()
        );
        // A chalet whose lines are not together is never taken whole, but is read back whole.
        let apart = [
            line(2, "chalets/a/index.html"),
            line(4, "chalets/b/index.html"),
            line(3, "chalets/a/x/index.html"),
        ]
        .concat();
        let mut m = Manifest::parse(&apart).expect("manifest");
        assert_eq!((m.unit_digest("a"), m.kept_unit("a").is_none()), (None, true));
        m.load_units(|slug| slug == "a");
        assert_eq!(m.get("chalets/a/x/index.html"), Some(hash_text(3).as_str()));
        assert_eq!(m.get("chalets/a/index.html"), Some(hash_text(2).as_str()));
    }

    /// A group for [`write_manifest`]'s type: none is written here.
    struct Photo;
    impl Group for Photo {
        fn name(&self) -> &str {
            ""
        }
        fn files(&self) -> Vec<(String, String)> {
            Vec::new()
        }
    }

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
