//! Chalets validated by an earlier build, taken again when none of their files changed.
//!
//! Parsing every chalet's YAML and scanning its Markdown is most of what a rebuild after a
//! one-file edit costs, so a build keeps each validated chalet (`.cache/chalet/chalets-…/<slug>.entry`,
//! and in memory for `serve`) and the next one takes it back, without even reading its files,
//! when all of these hold:
//! - every file of its folder has the size and modification time it had (what `make` and
//!   Cargo trust), and no file came or went;
//! - those times were at least [`RACY_NS`] older than the build that validated it: a file
//!   changed again within its clock's granularity keeps its time, so a build that read it in
//!   the same tick cannot vouch for it (Git's "racy clean" rule);
//! - the market's rules it was checked against (categories, countries, opening) are the same,
//!   and so are this program's version and how paths are shown;
//! - it had no error, and every image it uses lives in its own folder (an image elsewhere
//!   could appear or vanish without the folder changing).
//!
//! Anything else is validated again; an unreadable or foreign entry is only a miss.

use super::chalet::MarketRules;
use crate::diagnostic::{Deferred, Diagnostic, Diagnostics, Severity};
use crate::load::{ContentFiles, chalet_folder_of};
use crate::model::{Chalet, ImageSource};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod index;
mod warnings;
use index::{INDEX, Stamped};
use warnings::{Warnings, read_warnings};

/// Bumped whenever what an entry holds or how its digests are made changes.
const FORMAT: &str = concat!("chalet-validated 11 ", env!("CARGO_PKG_VERSION"));
/// Each entry's file: its texts, the chalet's contents, its card, then the rest
/// ([`crate::source::encode_keeping_texts`]): a lookup reads only the rest.
const EXT: &str = "entry";

/// File times are only as fine as their file system's clock: a few milliseconds on Linux,
/// two seconds on FAT (a USB stick).
pub const RACY_NS: i128 = 2_000_000_000;

/// One chalet as validation left it, with what it was validated from.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    format: String,
    key: String,
    /// When the build that made it began listing the content folder.
    scanned_ns: i128,
    /// Every file of the folder (relative to it), sorted, with its stamp: as their digest
    /// ([`digest`]) and the newest time among them. (The list itself was a sixth of a
    /// rebuild's memory at 20,000 products, held only to be compared.)
    stamps: u128,
    newest_ns: i128,
    /// Its contents are left in the entry's file ([`Chalet::contents`]).
    #[serde(with = "crate::source::shared")]
    pub(super) chalet: Arc<Chalet>,
    /// The images it references, in its own numbering (as a chalet validated alone has them).
    pub(super) images: Vec<ImageSource>,
    /// Its warnings: counted, not read, when the entry is read from its file.
    #[serde(with = "warnings::in_entry")]
    pub(super) diags: Warnings,
}

/// The entries one build may take, by folder.
#[derive(Debug, Default)]
pub struct Reuse {
    /// What validation depends on besides the folder's files; `None` when `market.yaml` does
    /// not validate (then nothing is taken or kept).
    key: Option<Arc<str>>,
    entries: BTreeMap<String, Arc<Entry>>,
    /// Where the entries' files are.
    dir: Arc<PathBuf>,
    /// How the content folder is shown before a path in it (`content/`).
    shown: Arc<str>,
    /// How many chalet folders the content has.
    folders: usize,
    /// Whether a chalet folder listed without its products ([`crate::load::scan_pruning`]) is
    /// not taken after all: the content must be listed again, whole.
    unlisted: bool,
}

impl Reuse {
    /// Whether the file belongs to a chalet taken from the cache (so it need not be read).
    pub fn covers(&self, rel: &str) -> bool {
        chalet_folder_of(rel).is_some_and(|f| self.has(f))
    }

    /// Whether the chalet of `folder` is taken from the cache.
    pub fn has(&self, folder: &str) -> bool {
        self.entries.contains_key(folder)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a folder listed without its products is not taken: see [`Reuse::unlisted`]'s field.
    pub fn needs_listing(&self) -> bool {
        self.unlisted
    }

    /// Whether at least half of the market's chalets are taken back.
    pub fn keeps_most(&self) -> bool {
        self.entries.len() * 2 >= self.folders
    }

    /// The entry of `folder`, handed over: its chalet and images are moved into the site when
    /// nothing else holds them ([`ChaletMemo::release`]), copied otherwise; its warnings, when
    /// the entry was read from its file, are read from there again for the report.
    pub(super) fn take(&mut self, folder: &str) -> Option<(Arc<Chalet>, Vec<ImageSource>, Diagnostics)> {
        let entry = self.entries.remove(folder)?;
        let deferred = match entry.diags {
            Warnings::Kept(count) => Some(self.deferred(folder, entry.stamps, count)?),
            Warnings::Held(_) => None,
        };
        let (chalet, images, warnings) = match Arc::try_unwrap(entry) {
            Ok(e) => (e.chalet, e.images, e.diags),
            Err(e) => (e.chalet.clone(), e.images.clone(), e.diags.clone()),
        };
        let mut diags = match warnings {
            Warnings::Held(list) => list.into(),
            Warnings::Kept(_) => Diagnostics::default(),
        };
        if let Some(d) = deferred {
            diags.defer(d);
        }
        Some((chalet, images, diags))
    }

    /// The `count` warnings of the entry of `folder`, to read for the report. Held until then
    /// by each of a thousand chalets: what is shared, shared.
    fn deferred(&self, folder: &str, stamps: u128, count: usize) -> Option<Deferred> {
        let (dir, key, shown) = (self.dir.clone(), self.key.clone()?, self.shown.clone());
        let prefix = folder_prefix(&shown, folder).into();
        let folder = Box::<str>::from(folder);
        Some(Deferred {
            count,
            prefix,
            read: Arc::new(move || {
                let path = dir.join(format!("{folder}.{EXT}"));
                read_warnings(&path, &key, stamps).map_err(|why| Diagnostic {
                    severity: Severity::Warning,
                    path: format!("{}chalet.yaml", folder_prefix(&shown, &folder)),
                    line: 1,
                    col: 1,
                    message: format!("this chalet's warnings could not be read back: its validated copy {why}"),
                    hint: Some("build again to see them".into()),
                })
            }),
        })
    }

    /// The entry to keep for a chalet just validated, when it may be kept.
    pub(super) fn entry(
        &self,
        files: &ContentFiles,
        folder: &str,
        chalet: &Option<Arc<Chalet>>,
        images: &[ImageSource],
        diags: &[Diagnostic],
    ) -> Option<Entry> {
        let key = self.key.as_deref()?.to_string();
        let chalet = chalet.clone()?;
        let own = format!("chalets/{folder}/");
        // Its warnings are read back in the order of the folders they are in
        // ([`Deferred::prefix`]): one about another file would be out of place.
        let shown = folder_prefix(&files.display(""), folder);
        if diags
            .iter()
            .any(|d| d.severity == Severity::Error || !d.path.starts_with(&shown))
            || images.iter().any(|i| !i.rel.starts_with(&own))
        {
            return None;
        }
        let stamp = files.folder_stamp(folder)?;
        Some(Entry {
            format: FORMAT.to_string(),
            key,
            scanned_ns: files.scanned_ns,
            stamps: stamp.digest,
            newest_ns: stamp.newest_ns,
            chalet,
            images: images.to_vec(),
            diags: Warnings::Held(diags.to_vec()),
        })
    }
}

/// How the paths in the chalet folder `folder` begin, the content folder being shown as `shown`.
fn folder_prefix(shown: &str, folder: &str) -> String {
    format!("{shown}chalets/{folder}/")
}

/// What a chalet's validation depends on besides its own files.
pub(super) fn key(files: &ContentFiles, rules: &MarketRules) -> String {
    let rules = xxhash_rust::xxh3::xxh3_128(format!("{rules:?}").as_bytes());
    format!("{}\n{rules:032x}", files.display_root)
}

/// The validated chalets a build keeps: in memory (for `serve`) and on disk.
#[derive(Debug)]
pub struct ChaletMemo {
    dir: PathBuf,
    memory: HashMap<String, Arc<Entry>>,
    /// The folders whose entries [`ChaletMemo::release`] handed over: still kept on disk.
    released: BTreeSet<String>,
    /// The stamps of the entries on disk as this build found or wrote them ([`INDEX`]).
    stamped: BTreeMap<String, Stamped>,
}

impl ChaletMemo {
    /// The entries for the content folder `content`, kept under `cache_dir`.
    pub fn new(cache_dir: &Path, content: &Path) -> ChaletMemo {
        let content = std::path::absolute(content).unwrap_or_else(|_| content.to_path_buf());
        // `content`, `content/` and `./content` are one folder, with one cache.
        let content: PathBuf = content.components().collect();
        let id = xxhash_rust::xxh3::xxh3_64(content.to_string_lossy().as_bytes());
        ChaletMemo {
            dir: cache_dir.join(format!("chalets-{id:016x}")),
            memory: HashMap::new(),
            released: BTreeSet::new(),
            stamped: BTreeMap::new(),
        }
    }

    /// Whether a chalet folder, as just listed, is the one an entry on disk was validated from
    /// (by [`INDEX`]): then its products need not even be listed ([`crate::load::scan_pruning`]).
    pub fn pruner(&self) -> impl Fn(&str, &crate::load::FolderStamp) -> bool + Sync + use<> {
        let index = index::read(&self.dir);
        move |folder, stamp| index.get(folder).is_some_and(|s| s.vouches(stamp))
    }

    /// What this build may take: the entries whose folder, rules and format are unchanged.
    /// Needs `market.yaml` read; reads no chalet file.
    pub fn lookup(&mut self, files: &ContentFiles) -> Reuse {
        let Some(market) = super::market_only(files) else {
            return Reuse {
                unlisted: !files.pruned.is_empty(),
                ..Reuse::default()
            };
        };
        let key = key(files, &MarketRules::of(&market));
        // A process that builds again (`serve`) reads the warnings of the chalets it took from
        // disk once, here, rather than for every report.
        let dir = &self.dir;
        self.memory.par_iter_mut().for_each(|(f, e)| {
            if let Some(e) = Arc::get_mut(e)
                && matches!(e.diags, Warnings::Kept(_))
                && let Ok(list) = read_warnings(&dir.join(format!("{f}.{EXT}")), &e.key, e.stamps)
            {
                e.diags = Warnings::Held(list);
            }
        });
        let folders = files.chalet_folders();
        let missing: Vec<&str> = folders
            .iter()
            .copied()
            .filter(|f| !self.memory.contains_key(*f))
            .collect();
        let read: Vec<(String, Entry)> = missing
            .par_iter()
            .filter_map(|f| {
                let (mut entry, parts): (Entry, _) =
                    crate::source::decode_keeping_texts(&self.dir.join(format!("{f}.{EXT}")))?;
                Arc::get_mut(&mut entry.chalet)?.keep_in(parts);
                Some((f.to_string(), entry))
            })
            .collect();
        self.memory.extend(read.into_iter().map(|(f, e)| (f, Arc::new(e))));
        let entries: BTreeMap<String, Arc<Entry>> = folders
            .iter()
            .filter_map(|f| {
                let e = self.memory.get(*f)?;
                // Its folder as it was, settled when it was validated: the index's rule.
                let fresh = e.format == FORMAT
                    && e.key == key
                    && files.folder_stamp(f).is_some_and(|s| Stamped::of(e).vouches(&s));
                fresh.then(|| (f.to_string(), e.clone()))
            })
            .collect();
        self.stamped = entries.iter().map(|(f, e)| (f.clone(), Stamped::of(e))).collect();
        Reuse {
            key: Some(key.into()),
            unlisted: files.pruned.iter().any(|f| !entries.contains_key(f)),
            entries,
            dir: Arc::new(self.dir.clone()),
            shown: files.display("").into(),
            folders: folders.len(),
        }
    }

    /// The folder its entries are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Forgets the entries held in memory: a build that is the process's only one (`chalet
    /// build`) then holds the entries it took alone, and a kept chalet is renumbered into the
    /// site in place — not copied whole (200 chalets with photos: 11 MB of copies).
    pub fn release(&mut self) {
        self.released.extend(std::mem::take(&mut self.memory).into_keys());
    }

    /// Keeps what this build validated afresh and forgets the chalets that are gone. Failing
    /// to write costs the next build some time, never a wrong result: it is not an error.
    pub fn keep(&mut self, files: &ContentFiles, fresh: Vec<(String, Entry)>) {
        let present = files.chalet_folders();
        self.memory.retain(|f, _| present.contains(f.as_str()));
        self.released.retain(|f| present.contains(f.as_str()));
        if !fresh.is_empty() && std::fs::create_dir_all(&self.dir).is_ok() {
            fresh.par_iter().for_each(|(folder, entry)| {
                let (Some(contents), Some(card)) = (entry.chalet.held(), entry.chalet.held_card()) else {
                    return;
                };
                if let Ok(bytes) = crate::source::encode_keeping_texts(contents, card, entry) {
                    let _ = crate::fs::write_atomic(&self.dir.join(format!("{folder}.{EXT}")), &bytes);
                }
            });
        }
        self.stamped.retain(|f, _| present.contains(f.as_str()));
        for (folder, entry) in fresh {
            self.stamped.insert(folder.clone(), Stamped::of(&entry));
            self.memory.insert(folder, Arc::new(entry));
        }
        index::write(&self.dir, &self.stamped);
        // Entries of chalets that are gone (or now fail) go too: a stale one is never taken
        // (its stamps cannot match), but it would take room for ever.
        if let Ok(dir) = std::fs::read_dir(&self.dir) {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let folder = name.strip_suffix(&format!(".{EXT}")).unwrap_or(&name);
                if name != INDEX && !self.memory.contains_key(folder) && !self.released.contains(folder) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Body, CardPart};
    use crate::source::SourceFile;

    /// The example market, validated once afresh and once from the entries that build kept.
    #[test]
    fn a_kept_chalet_is_taken_by_its_head_and_reads_its_contents_only_when_asked() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content");
        let mut files = crate::load::load(&root, "content").expect("example content");
        // As if listed well after its files were written (a checkout may be seconds old).
        files.scanned_ns += 10 * RACY_NS;
        let cache = tempfile::tempdir().expect("tmp");
        let mut memo = ChaletMemo::new(cache.path(), &root);
        let nothing = memo.lookup(&files);
        assert!(nothing.is_empty(), "nothing kept yet");
        let fresh = super::super::validate_reusing(&files, nothing);
        let site = fresh.site.as_ref().expect("the example market validates");
        memo.keep(&files, fresh.fresh);

        // Another process: the entries are read from disk, their heads only.
        let mut memo = ChaletMemo::new(cache.path(), &root);
        let reuse = memo.lookup(&files);
        assert_eq!(reuse.len(), site.chalets.len(), "every chalet is taken back");
        memo.release();
        let again = super::super::validate_reusing(&files, reuse);
        let kept = again.site.expect("validates");
        assert_eq!(format!("{:?}", kept.images), format!("{:?}", site.images));
        // What a rebuild asks of every chalet — the collision check (run by validation), its
        // unit's fingerprint, its first product's — reads no kept chalet's contents, and gives
        // what the chalets validated afresh give.
        let units = |site: &crate::model::Site| {
            let m = &site.market;
            let themes = root.join("../themes");
            let (theme, _) = crate::theme::load(&themes, &m.theme, &m.theme_origin, &root.join("theme"), m.language)
                .expect("the example theme");
            let mut index = crate::images::index::SourceIndex::default();
            let (plan, diags) = crate::images::plan(&site.images, &root, &m.images, &mut index);
            assert!(!diags.has_errors());
            let renderer = crate::render::Renderer::new(site, &theme, &plan).expect("renderer");
            renderer.units()
        };
        assert_eq!(units(&kept), units(site));
        for (a, b) in site.chalets.iter().zip(&kept.chalets) {
            assert!(
                matches!(&b.body, Body::Kept(k) if !k.is_loaded()),
                "{}: not read",
                b.slug
            );
            assert!(
                matches!(&b.card, CardPart::Kept(k) if !k.is_loaded()),
                "{}: its card not read",
                b.slug
            );
            assert_eq!((a.digest, a.head, a.image_ids()), (b.digest, b.head, b.image_ids()));
            // Read, the contents are those validated, images numbered as the site's.
            let (x, y) = (a.contents().expect("held"), b.contents().expect("kept"));
            assert_eq!(format!("{x:?}"), format!("{y:?}"));
            assert!(
                matches!(&b.body, Body::Kept(k) if k.is_loaded()),
                "kept for its other pages"
            );
            let (x, y) = (a.card().expect("held"), b.card().expect("kept"));
            assert_eq!(format!("{x:?}"), format!("{y:?}"));
        }
        assert!(site.images.len() > 1 && kept.chalets.iter().any(|c| !c.image_ids().is_empty()));

        // An entry replaced by another build before its contents were read: an error that
        // says so, not another chalet's products.
        let mut memo = ChaletMemo::new(cache.path(), &root);
        let reuse = memo.lookup(&files);
        let again = super::super::validate_reusing(&files, reuse).site.expect("validates");
        let entries: Vec<PathBuf> = (0..2)
            .map(|i| memo.dir().join(format!("{}.{EXT}", again.chalets[i].slug)))
            .collect();
        std::fs::copy(&entries[1], &entries[0]).expect("replace");
        for e in [
            again.chalets[0].contents().err(),
            again.chalets[0].read_contents().err(),
            again.chalets[0].card().err(),
        ] {
            let e = e.expect("refused");
            assert!(e.message.contains("changed while this build ran"), "{}", e.message);
            assert!(e.hint.as_deref().is_some_and(|h| h.contains("build again")));
        }
        assert!(again.chalets[1].contents().is_ok());
    }

    /// The example market with two chalets that do not say who sells (a warning each).
    fn with_warnings() -> (PathBuf, ContentFiles, Vec<String>) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content");
        let mut files = crate::load::load(&root, "content").expect("example content");
        files.scanned_ns += 10 * RACY_NS;
        let yamls: Vec<String> = files
            .texts
            .keys()
            .filter(|rel| rel.ends_with("/chalet.yaml"))
            .take(2)
            .cloned()
            .collect();
        for rel in &yamls {
            let mut text = String::new();
            let mut skipping = false;
            for line in files.texts[rel].text().lines() {
                skipping = line.starts_with("trader:") || (skipping && line.starts_with("  "));
                if !skipping {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            let display = files.display(rel);
            files
                .texts
                .insert(rel.clone(), Arc::new(SourceFile::new(rel.clone(), display, text)));
        }
        (root, files, yamls)
    }

    #[test]
    fn a_kept_chalets_warnings_are_counted_then_read_back_for_the_report() {
        let (root, files, yamls) = with_warnings();
        let cache = tempfile::tempdir().expect("tmp");
        let mut memo = ChaletMemo::new(cache.path(), &root);
        let fresh = super::super::validate_reusing(&files, memo.lookup(&files));
        let (expected_count, fresh_entries) = (fresh.diags.len(), fresh.fresh);
        let expected = fresh.diags.sorted();
        let who = expected.iter().filter(|d| d.message.contains("does not say who sells"));
        assert_eq!(
            who.map(|d| d.path.clone()).collect::<Vec<_>>(),
            yamls.iter().map(|r| files.display(r)).collect::<Vec<_>>()
        );
        // An entry is kept only when its warnings are about its own folder's files: they are
        // read back folder by folder, in the report's order (`Deferred::prefix`).
        let (folder, entry) = fresh_entries
            .iter()
            .find(|(_, e)| matches!(&e.diags, Warnings::Held(list) if !list.is_empty()))
            .expect("a chalet with warnings");
        let lookup = memo.lookup(&files);
        let keep = |diags: &[Diagnostic]| {
            lookup
                .entry(&files, folder, &Some(entry.chalet.clone()), &entry.images, diags)
                .is_some()
        };
        let Warnings::Held(own) = &entry.diags else {
            panic!("validated afresh")
        };
        assert!(keep(own));
        let mut elsewhere = own.clone();
        elsewhere.push(Diagnostic {
            path: files.display("market.yaml"),
            ..own[0].clone()
        });
        assert!(!keep(&elsewhere), "a warning about market.yaml");
        memo.keep(&files, fresh_entries);

        // Another process takes every chalet back: their warnings are counted, not read...
        let mut memo = ChaletMemo::new(cache.path(), &root);
        let reuse = memo.lookup(&files);
        memo.release();
        let again = super::super::validate_reusing(&files, reuse);
        assert!(again.fresh.is_empty(), "every chalet taken back");
        assert_eq!(
            (again.diags.len(), again.diags.iter().count()),
            (expected_count, expected_count - 2)
        );
        assert!(!again.diags.has_errors());
        // ...and read for the report, the same as validated.
        assert_eq!(again.diags.clone().sorted(), expected);
        // A process that builds again (`serve`: nothing released) reads them once, at its
        // next lookup, and holds them.
        let mut serving = ChaletMemo::new(cache.path(), &root);
        let first = super::super::validate_reusing(&files, serving.lookup(&files));
        assert_eq!(first.diags.iter().count(), expected_count - 2);
        drop(first);
        let next = super::super::validate_reusing(&files, serving.lookup(&files));
        assert_eq!(next.diags.iter().count(), expected_count, "held");
        assert_eq!(next.diags.sorted(), expected);

        // An entry replaced since it was taken: said, not another chalet's warnings.
        let folder = |rel: &str| rel.split('/').nth(1).expect("chalets/<folder>/").to_string();
        let entry = |rel: &str| memo.dir().join(format!("{}.{EXT}", folder(rel)));
        std::fs::copy(entry(&yamls[1]), entry(&yamls[0])).expect("replace");
        let report = again.diags.sorted();
        assert_eq!(report.len(), expected.len());
        let said: Vec<&Diagnostic> = report.iter().filter(|d| d.path == files.display(&yamls[0])).collect();
        assert_eq!(said.len(), 1);
        assert!(
            said[0]
                .message
                .contains("could not be read back: its validated copy changed while this build ran"),
            "{}",
            said[0].message
        );
        assert_eq!(said[0].hint.as_deref(), Some("build again to see them"));
    }
}
