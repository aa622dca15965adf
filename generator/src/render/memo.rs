//! Incremental rendering: a page is rendered again only when what it is rendered *from* changed.
//!
//! Every page's inputs are already gathered in one place — its template context — so each page
//! gets a **fingerprint**: the hash of the theme's templates, the market-wide values every page
//! sees (`market`, `t`, `urls`, the script's configuration…) and the page's own context (its
//! chalet, product, neighbours, body). That *is* the page's dependency graph, taken at the only
//! point where it cannot drift from what the template reads: a product's Markdown reaches its
//! own page, its chalet's page and the pages that show its card, and nothing else; a template,
//! a translation or `market.yaml` reaches every page that sees them.
//!
//! The fingerprints of the last build, with the hash of the file each page became, are kept in
//! the image cache's folder (`pages-<output>.state`), one file per output folder so `build` and
//! `serve` do not overwrite each other's. A page is taken from the previous output only when its
//! fingerprint is unchanged **and** the output still holds that page's file as it was written;
//! any doubt — no state, another version of chalet, other options, a damaged file, an output
//! folder rebuilt by hand — renders everything and says why.

mod state;
mod units;

use super::lists::{FILES, ListState};
pub use crate::fingerprint::Fingerprint;
use crate::write::{Hashes, KeptUnit, Manifest, hash_value};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bumped whenever what a fingerprint covers changes; a state file of another format is ignored.
const FORMAT: &str = "chalet-pages 2";
/// The same for the lists' state ([`super::lists`]).
const LISTS_FORMAT: &str = "chalet-lists 2";

/// Why a build into a folder without a previous build renders everything.
pub const FIRST_BUILD: &str = "no previous output";

/// Each template's fingerprint: its own text and that of every template it reaches through
/// `extends`, `include` and `import`, so a partial's edit re-renders only the pages using it.
/// A template that calls components (which any template may define, by name) or names a
/// template other than by a plain string is taken to depend on every template.
pub fn template_fingerprints<'t>(templates: &[(&'t str, &'t str)]) -> HashMap<&'t str, u128> {
    let direct: HashMap<&str, Option<Vec<String>>> = templates.iter().map(|(n, t)| (*n, references(t))).collect();
    let text: HashMap<&str, &str> = templates.iter().copied().collect();
    let mut everything = Fingerprint::default();
    let mut names: Vec<&str> = text.keys().copied().collect();
    names.sort_unstable();
    for n in &names {
        everything.add(n.as_bytes());
        everything.add(text[n].as_bytes());
    }
    let mut out = HashMap::default();
    for name in &names {
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![name.to_string()];
        let mut all = false;
        while let Some(t) = todo.pop() {
            if !seen.insert(t.clone()) {
                continue;
            }
            match direct.get(t.as_str()) {
                Some(Some(refs)) => todo.extend(refs.iter().cloned()),
                // Unresolvable, or a name that is not a template (Tera reports that one).
                Some(None) => all = true,
                None => {}
            }
        }
        let fp = if all {
            everything.finish()
        } else {
            let mut fp = Fingerprint::default();
            for t in &seen {
                fp.add(t.as_bytes());
                fp.add(text.get(t.as_str()).unwrap_or(&"").as_bytes());
            }
            fp.finish()
        };
        out.insert(*name, fp);
    }
    out
}

/// The templates `text` names in `extends`/`include`/`import` tags; `None` when it uses
/// something this scan cannot follow (components, a name computed at render time).
fn references(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['{']) {
        rest = &rest[at + 1..];
        let close = match rest.as_bytes().first() {
            Some(b'%') => "%}",
            Some(b'{') => "}}",
            _ => continue,
        };
        let Some(end) = rest.find(close) else { break };
        let tag = rest[1..end].trim_matches(|c: char| c == '-' || c.is_whitespace());
        rest = &rest[end..];
        if tag.starts_with('<') || tag.starts_with("component") {
            return None;
        }
        let word = tag.split_whitespace().next().unwrap_or("");
        if close == "%}" && matches!(word, "extends" | "include" | "import" | "from") {
            let quoted: Vec<&str> = tag.split(['"', '\'', '`']).skip(1).step_by(2).collect();
            if quoted.is_empty() {
                return None;
            }
            out.extend(quoted.iter().map(|q| q.to_string()));
        }
    }
    Some(out)
}

/// The last build's pages: by the hash of each page's path, its fingerprint and its file's
/// hash, sorted (three numbers a page; the state's text and a map of ranges into it were 5 MB
/// of a rebuild at 21,000 pages). Paths are told apart by their 128-bit xxh3 alone: two of a
/// market's paths sharing one is not a risk worth keeping every path for.
#[derive(Debug, Default)]
struct Previous {
    pages: Vec<(u128, u128, u128)>,
}

impl Previous {
    /// The fingerprint and file hash of the page whose path hashes to `key` ([`path_key`]), if
    /// the last build made it.
    fn get(&self, key: u128) -> Option<(u128, u128)> {
        let i = self.pages.binary_search_by_key(&key, |p| p.0).ok()?;
        let (_, fp, hash) = self.pages[i];
        Some((fp, hash))
    }
}

/// What a page's path is known by in the state: its xxh3-128.
fn path_key(page: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(page.as_bytes())
}

/// What the last build of this output folder left: each page's fingerprint and file hash.
#[derive(Debug, Default)]
pub struct Memo {
    previous: Previous,
    /// Why everything is rendered this time; `None` when the previous pages can be reused.
    pub full: Option<String>,
    /// Filled while rendering: each page's path (by its hash, as [`Previous`] keys it) and
    /// fingerprint; the paths themselves are the written files' ([`Memo::save`]).
    now: Mutex<Vec<(u128, u128)>>,
    /// What the last build made the market's lists from, with the files' hashes still in the
    /// output; `None` when there is nothing to compare with.
    lists: Option<ListState>,
    lists_now: Mutex<Option<ListState>>,
    /// The theme files the output holds (`assets/…`, named by their hash), with their hashes.
    assets: HashMap<String, u128>,
    /// The last build's pages' state, its header checked: read when the units taken whole are
    /// known ([`Memo::settle`]), and again to keep their lines ([`Memo::save`]).
    pages_file: Option<PathBuf>,
    /// The last build's units: slug → (fingerprint, digest of its lines) ([`units`]).
    units_before: HashMap<String, (u128, u128)>,
    /// This build's units: slug, fingerprint, whether it is taken whole.
    units_now: Vec<(String, u128, bool)>,
}

impl Memo {
    /// Reads the state kept for `out`. `options` names what, besides the inputs, decides the
    /// output (theme, address overrides); `manifest` is the output folder's file list, so a
    /// page is reused only if the file there is still the one this state remembers.
    pub fn open(cache_dir: &Path, out: &Path, options: &str, manifest: Option<&Manifest>) -> Memo {
        let path = state_path(cache_dir, out, "pages");
        let full = |why: &str| Memo {
            full: Some(why.to_string()),
            ..Memo::default()
        };
        let Some(manifest) = manifest else {
            return full(FIRST_BUILD);
        };
        let assets: HashMap<String, u128> = manifest
            .files()
            .filter(|(path, _)| {
                path.strip_prefix(chalet_types::routes::ASSETS_DIR)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
            .filter_map(|(p, h)| Some((p.to_string(), hash_value(h)?)))
            .collect();
        let full = |why: &str| Memo {
            assets: assets.clone(),
            ..full(why)
        };
        // Only the header now: the pages' lines are read once the chalets taken whole are known.
        let mut lines = match state::Lines::open(&path) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return full("no incremental state yet"),
            Err(_) => return full("the incremental state could not be read"),
        };
        if let Err(why) = lines.header(FORMAT, options) {
            return full(why);
        }
        Memo {
            previous: Previous::default(),
            full: None,
            now: Mutex::default(),
            lists: read_lists(&state_path(cache_dir, out, "lists"), options, manifest),
            lists_now: Mutex::default(),
            assets,
            pages_file: Some(path),
            units_before: units::read(&state_path(cache_dir, out, "units"), options),
            units_now: Vec::new(),
        }
    }

    /// Decides which chalets' pages this build takes whole from the output — those whose unit
    /// fingerprint ([`super::Renderer::units`]) is the one the last build recorded, and whose
    /// lines in `manifest` are the ones it wrote — then reads the last build's other pages.
    /// Returns, chalet by chalet, how the output holds one taken whole.
    pub fn settle(
        &mut self,
        units: Vec<(String, u128)>,
        mut manifest: Option<&mut Manifest>,
        options: &str,
    ) -> Vec<Option<KeptUnit>> {
        let mut kept: Vec<Option<KeptUnit>> = units
            .iter()
            .map(|(slug, fp)| {
                let m = manifest.as_deref().filter(|_| self.full.is_none())?;
                let &(before, digest) = self.units_before.get(slug)?;
                (before == *fp && m.unit_digest(slug) == Some(digest))
                    .then(|| m.kept_unit(slug))
                    .flatten()
            })
            .collect();
        let skip: HashSet<&str> = units
            .iter()
            .zip(&kept)
            .filter(|(_, k)| k.is_some())
            .map(|((slug, _), _)| slug.as_str())
            .collect();
        // The other chalets' files in the output: those whose pages are made, and those gone.
        if let Some(m) = manifest.as_deref_mut() {
            m.load_units(|slug| !skip.contains(slug));
            if m.broken() && self.full.is_none() {
                self.full = Some("the output's manifest could not be read back".into());
            }
        }
        if let (None, Some(path), Some(m)) = (&self.full, &self.pages_file, manifest.as_deref()) {
            match units::read_pages(path, options, m, &skip) {
                Ok(pages) => self.previous = Previous { pages },
                Err(why) => self.full = Some(why.to_string()),
            }
        }
        // Everything rendered: no chalet is taken whole, and every chalet's files are wanted
        // (a file the output holds as it is made again is then not written again).
        if self.full.is_some() {
            kept.iter_mut().for_each(|k| *k = None);
            if let Some(m) = manifest {
                m.load_units(|_| true);
            }
        }
        self.units_now = units
            .into_iter()
            .zip(&kept)
            .map(|((slug, fp), k)| (slug, fp, k.is_some()))
            .collect();
        kept
    }

    /// The hash of the theme file the output holds at `path`, if it does.
    pub fn kept_asset(&self, path: &str) -> Option<u128> {
        self.assets.get(path).copied()
    }

    /// What the last build made the lists from (see [`super::lists`]).
    pub fn lists(&self) -> Option<&ListState> {
        self.lists.as_ref().filter(|_| self.full.is_none())
    }

    /// What this build made them from, kept by [`Memo::save`] with the files' hashes.
    pub fn record_lists(&self, state: ListState) {
        *self.lists_now.lock().unwrap_or_else(|e| e.into_inner()) = Some(state);
    }

    /// A build that keeps no state (`check`, a first build into a fresh folder).
    pub fn none() -> Memo {
        Memo::default()
    }

    /// Makes room for this build's `pages` at once (grown by doubling, the list left freed
    /// copies of itself behind: 1.5 MB at 21,000 pages).
    pub fn expect_pages(&self, pages: usize) {
        self.now.lock().unwrap_or_else(|e| e.into_inner()).reserve_exact(pages);
    }

    /// The hash of the file `page` became last time, if its fingerprint is unchanged.
    /// Either way, `page` is recorded with `fp` for the next build.
    pub fn reuse(&self, page: &str, fp: u128) -> Option<u128> {
        let key = path_key(page);
        self.now.lock().unwrap_or_else(|e| e.into_inner()).push((key, fp));
        match self.previous.get(key) {
            Some((old, hash)) if self.full.is_none() && old == fp => Some(hash),
            _ => None,
        }
    }

    /// Keeps this build's fingerprints with the hashes its files were written with. Called only
    /// after the output was written: a failed build leaves the previous state, which still
    /// describes the previous output.
    pub fn save(self, cache_dir: &Path, out: &Path, options: &str, written: &Hashes) -> std::io::Result<()> {
        let mut fps = self.now.into_inner().unwrap_or_else(|e| e.into_inner());
        fps.sort_unstable();
        // Each written file that is a page, with its fingerprint, in path order; the units
        // taken whole are not among them, their lines are copied from the last state.
        let pages = written.iter().filter_map(|(path, hash)| {
            let i = fps.binary_search_by_key(&path_key(path), |f| f.0).ok()?;
            Some((path, fps[i].1, hash))
        });
        let kept: HashSet<&str> = self.units_now.iter().filter(|u| u.2).map(|u| u.0.as_str()).collect();
        let pages_path = state_path(cache_dir, out, "pages");
        crate::fs::write_atomic_with(&pages_path, |w| {
            units::write_pages(w, options, pages, self.pages_file.as_deref(), &kept)
        })?;
        crate::fs::write_atomic_with(&state_path(cache_dir, out, "units"), |w| {
            units::write(w, options, &self.units_now, &self.units_before, written)
        })?;
        let lists_path = state_path(cache_dir, out, "lists");
        match self.lists_now.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(mut lists) => {
                for (file, hash) in FILES.iter().zip(lists.files.iter_mut()) {
                    *hash = written.get(file);
                }
                crate::fs::write_atomic_with(&lists_path, |w| {
                    state::header(w, LISTS_FORMAT, options)?;
                    w.write_all(lists.to_text().as_bytes())
                })
            }
            None => match std::fs::remove_file(&lists_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }
}

/// The lists' state kept for this output, when it is of this version and options; each file's
/// hash only while the output still holds that file as written.
fn read_lists(path: &Path, options: &str, manifest: &Manifest) -> Option<ListState> {
    let mut lines = state::Lines::open(path).ok()?;
    lines.header(LISTS_FORMAT, options).ok()?;
    let text = lines.rest()?;
    let mut lists = ListState::from_text(text.lines())?;
    for (file, hash) in FILES.iter().zip(lists.files.iter_mut()) {
        if manifest.get(file).and_then(hash_value) != *hash {
            *hash = None;
        }
    }
    Some(lists)
}

/// `<kind>-<hash of the output folder's absolute path>.state`.
pub(crate) fn state_path(cache_dir: &Path, out: &Path, kind: &str) -> PathBuf {
    let abs = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    // `dist`, `dist/` and `./dist` are one folder, with one state.
    let abs: PathBuf = abs.components().collect();
    let mut fp = Fingerprint::default();
    fp.add(abs.to_string_lossy().as_bytes());
    cache_dir.join(format!("{kind}-{:016x}.state", fp.finish() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::hash_text;

    /// The manifest's text for these files (path, hash).
    fn manifest(entries: &[(&str, u128)]) -> String {
        entries
            .iter()
            .map(|(p, h)| format!("{}\t{p}\n", hash_text(*h)))
            .collect()
    }

    #[test]
    fn a_page_is_reused_only_with_its_fingerprint_its_file_and_the_same_options() {
        let dir = tempfile::tempdir().expect("tmp");
        let out = dir.path().join("dist");
        let (h1, h2) = (0x11 << 100, 0xab);
        let written = [("a/index.html", h1), ("b/index.html", h2)];
        let files = manifest(&written);
        let hashes = Hashes::new(written.iter().map(|(p, h)| (p.to_string(), *h)).collect());
        // No chalet here: every page on its own.
        let open = |options: &str, files: Option<&str>| {
            let mut files = files.map(|t| Manifest::parse(t).expect("manifest"));
            let mut memo = Memo::open(dir.path(), &out, options, files.as_ref());
            memo.settle(Vec::new(), files.as_mut(), options);
            memo
        };
        let first = open("theme=default", Some(&files));
        assert_eq!(first.full.as_deref(), Some("no incremental state yet"));
        assert_eq!(first.reuse("a/index.html", 1), None);
        assert_eq!(first.reuse("b/index.html", 2), None);
        first.save(dir.path(), &out, "theme=default", &hashes).expect("saved");

        let memo = open("theme=default", Some(&files));
        assert_eq!(memo.full, None);
        assert_eq!(memo.reuse("a/index.html", 1), Some(h1));
        assert_eq!(memo.reuse("b/index.html", 3), None, "its inputs changed");
        assert_eq!(memo.reuse("c/index.html", 1), None, "not made last time");
        // The file in the output is not the one remembered (edited by hand, rebuilt elsewhere).
        let edited = manifest(&[("a/index.html", 7), ("b/index.html", h2)]);
        let memo = open("theme=default", Some(&edited));
        assert_eq!(memo.reuse("a/index.html", 1), None);
        assert_eq!(memo.reuse("b/index.html", 2), Some(h2));
        // A hash in the output's manifest not as this program writes it is not taken.
        let h2_text = hash_text(h2);
        for odd in [
            h2_text.to_uppercase(),
            format!("+{}", &h2_text[1..]),
            h2_text[1..].to_string(),
        ] {
            let odd_files = format!("{}\ta/index.html\n{odd}\tb/index.html\n", hash_text(h1));
            let memo = open("theme=default", Some(&odd_files));
            assert_eq!(memo.reuse("b/index.html", 2), None, "{odd}");
            assert_eq!(memo.reuse("a/index.html", 1), Some(h1));
        }
        // Any doubt renders everything, and says why.
        let other = open("theme=night", Some(&files));
        assert_eq!(
            other.full.as_deref(),
            Some("the last build used another theme or other options")
        );
        assert_eq!(other.reuse("a/index.html", 1), None);
        assert_eq!(open("theme=default", None).full.as_deref(), Some("no previous output"));
        let state = state_path(dir.path(), &out, "pages");
        let text = std::fs::read_to_string(&state).expect("state");
        std::fs::write(&state, text.replace(FORMAT, "chalet-pages 0")).expect("write");
        assert_eq!(
            open("theme=default", Some(&files)).full.as_deref(),
            Some("the incremental state is from another version of chalet")
        );
        std::fs::write(&state, text.replace('\t', " ")).expect("write");
        assert_eq!(
            open("theme=default", Some(&files)).full.as_deref(),
            Some("the incremental state is damaged")
        );
        // The same output folder spelt another way has the same; another has its own.
        for spelt in ["dist/", "./dist", "dist/."] {
            assert_eq!(
                state_path(dir.path(), &out, "pages"),
                state_path(dir.path(), &dir.path().join(spelt), "pages")
            );
        }
        assert_ne!(
            state_path(dir.path(), &out, "pages"),
            state_path(dir.path(), &dir.path().join("site"), "pages")
        );
    }

    #[test]
    fn a_chalets_pages_are_taken_whole_only_as_recorded_and_kept_in_the_state() {
        let dir = tempfile::tempdir().expect("tmp");
        let out = dir.path().join("dist");
        let written = [
            ("chalets/a/index.html", 1),
            ("chalets/a/x/index.html", 2),
            ("chalets/b/index.html", 3),
            ("index.html", 4),
        ];
        let files = manifest(&written);
        let hashes = Hashes::new(written.iter().map(|(p, h)| (p.to_string(), *h)).collect());
        let units = |a: u128, b: u128| vec![("a".to_string(), a), ("b".to_string(), b)];
        let options = "theme=default";
        let open = |files: &str, a, b| {
            let mut files = Manifest::parse(files).expect("manifest");
            let mut memo = Memo::open(dir.path(), &out, options, Some(&files));
            let kept = memo.settle(units(a, b), Some(&mut files), options);
            let kept: Vec<bool> = kept.iter().map(Option::is_some).collect();
            (memo, kept)
        };
        let (first, kept) = open(&files, 10, 20);
        assert_eq!(kept, [false, false], "nothing recorded yet");
        for (page, fp) in [("chalets/a/index.html", 11), ("chalets/a/x/index.html", 12)] {
            first.reuse(page, fp);
        }
        first.reuse("chalets/b/index.html", 13);
        first.reuse("index.html", 14);
        first.save(dir.path(), &out, options, &hashes).expect("saved");

        // a unchanged, b changed: a is taken whole and none of its pages is read back.
        let (memo, kept) = open(&files, 10, 21);
        assert_eq!(kept, [true, false]);
        assert_eq!(memo.previous.get(path_key("chalets/a/x/index.html")), None, "not read");
        assert_eq!(memo.reuse("chalets/b/index.html", 13), Some(3), "b's page on its own");
        assert_eq!(memo.reuse("index.html", 14), Some(4));
        // Saved with b's and the square's pages only, the state still holds a's lines.
        let b_only = Hashes::new(vec![("chalets/b/index.html".into(), 3), ("index.html".into(), 4)]);
        memo.save(dir.path(), &out, options, &b_only).expect("saved");
        let state = std::fs::read_to_string(state_path(dir.path(), &out, "pages")).expect("state");
        let pages: Vec<&str> = state.lines().skip(3).filter_map(|l| l.splitn(3, '\t').nth(2)).collect();
        assert_eq!(
            pages,
            [
                "chalets/a/index.html",
                "chalets/a/x/index.html",
                "chalets/b/index.html",
                "index.html"
            ]
        );
        let (memo, kept) = open(&files, 10, 21);
        assert_eq!(kept, [true, true], "both as recorded now");
        drop(memo);
        // a's fingerprint changed: its pages are read back, one by one.
        let (memo, kept) = open(&files, 11, 21);
        assert_eq!(kept, [false, true]);
        assert_eq!(memo.reuse("chalets/a/x/index.html", 12), Some(2));
        // A damaged pages' state: everything is rendered, no chalet taken whole, and every
        // chalet's files are read back from the manifest (so unchanged files are not rewritten).
        let state = state_path(dir.path(), &out, "pages");
        let good = std::fs::read_to_string(&state).expect("state");
        std::fs::write(&state, good.replace("\tchalets/b/", " chalets/b/")).expect("write");
        let mut m = Manifest::parse(&files).expect("manifest");
        let mut memo = Memo::open(dir.path(), &out, options, Some(&m));
        let kept = memo.settle(units(10, 21), Some(&mut m), options);
        assert!(kept.iter().all(Option::is_none));
        assert_eq!(memo.full.as_deref(), Some("the incremental state is damaged"));
        assert_eq!(m.get("chalets/a/x/index.html"), Some(hash_text(2).as_str()));
        assert_eq!(m.get("chalets/b/index.html"), Some(hash_text(3).as_str()));
        std::fs::write(&state, good).expect("write");
        // a's file in the output is not the one written (or a's lines are not together):
        // never taken whole.
        for odd in [
            manifest(&[
                ("chalets/a/index.html", 1),
                ("chalets/a/x/index.html", 9),
                ("chalets/b/index.html", 3),
            ]),
            format!(
                "{}{}",
                manifest(&[("chalets/a/index.html", 1), ("chalets/b/index.html", 3)]),
                manifest(&[("chalets/a/x/index.html", 2)])
            ),
        ] {
            assert!(!open(&odd, 10, 21).1[0], "{odd:?}");
        }
    }

    #[test]
    fn a_template_depends_on_what_it_extends_and_includes_only() {
        let base = r#"<main>{% block content %}{% endblock content %}</main>{% include "partials/foot.html" %}"#;
        let product = r#"{% extends "base.html" %}{% block content %}{%- include 'partials/picture.html' -%}{% endblock content %}"#;
        let fps = |picture: &'static str, foot: &'static str| {
            template_fingerprints(&[
                ("base.html", base),
                ("product.html", product),
                ("page.html", r#"{% extends "base.html" %}"#),
                ("partials/picture.html", picture),
                ("partials/foot.html", foot),
            ])
        };
        let (before, picture, foot) = (
            fps("<img>", "<footer>"),
            fps("<img alt>", "<footer>"),
            fps("<img>", "<footer>!"),
        );
        assert_ne!(before["product.html"], picture["product.html"]);
        assert_eq!(before["page.html"], picture["page.html"], "the page shows no picture");
        assert_ne!(before["page.html"], foot["page.html"], "through base.html");
        assert_ne!(before["product.html"], foot["product.html"]);
        assert_eq!(references("{{ <card title=\"x\" /> }}"), None, "components: anything");
        assert_eq!(references("{% include name %}"), None);
        assert_eq!(
            references(r#"{% include "a.html" %}{{ x }}{% import "m.html" as m %}"#),
            Some(vec!["a.html".to_string(), "m.html".to_string()])
        );
    }

    #[test]
    fn fingerprints_separate_their_parts() {
        let fp = |parts: &[&str]| {
            let mut f = Fingerprint::default();
            parts.iter().for_each(|p| f.add(p.as_bytes()));
            f.finish()
        };
        assert_ne!(fp(&["ab", "c"]), fp(&["a", "bc"]));
        assert_eq!(fp(&["ab", "c"]), fp(&["ab", "c"]));
        let json = |v: serde_json::Value| {
            let mut f = Fingerprint::default();
            f.add_json(&v);
            f.finish()
        };
        assert_ne!(json(serde_json::json!({"a": 1})), json(serde_json::json!({"a": 2})));
    }
}
