//! The three files that list the whole market — `sitemap.xml`, `search.json`, `catalogue.json` —
//! are made again only when one of them would change; at 20,000 products they are 20 MB that a
//! rebuild after one edit would otherwise make, hash and throw away.
//!
//! Each is a function of market-wide values and of each chalet's part in it, chalet after
//! chalet (the sitemap: its pages' addresses; the search index: its entries; the catalogue: its
//! items, which sort together by SKU). A build keeps each part's hash, per chalet, beside the
//! pages' state ([`super::memo`]). The next build takes a chalet's part hashes back without
//! making the parts when the chalet's whole fingerprint (its model and every image view) is the
//! one they were made with and nothing market-wide changed; a changed chalet's parts are made
//! and hashed, one chalet's worth of work. A file whose market-wide key and every part are
//! unchanged, and which the output still holds as it was written, is taken as it is: a
//! product's description edited makes none of the three again, a price the catalogue and the
//! search index.

use super::Renderer;
use super::memo::Fingerprint;
use crate::diagnostic::Diagnostic;
use crate::routes::PageKind;
use chalet_types::routes;
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

/// The files, in the order of [`Parts`].
pub const FILES: [&str; 3] = [routes::SITEMAP, routes::SEARCH_INDEX, routes::CATALOGUE];

/// One chalet's part of each file, hashed.
pub type Parts = [u128; 3];

/// What the lists were made from, and the files they became.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListState {
    /// The market-wide values every list sees, and the pages of the sitemap that are no chalet's.
    pub global: u128,
    /// Each chalet, in the site's order: slug, whole fingerprint, its parts.
    pub chalets: Vec<(String, u128, Parts)>,
    /// Each file's hash as written (`None`: unknown, so it is made again).
    pub files: [Option<u128>; 3],
}

impl ListState {
    /// The text kept between builds: the global key, the files' hashes, a line per chalet.
    pub fn to_text(&self) -> String {
        let mut out = format!("{:032x}\n", self.global);
        let files: Vec<String> = self
            .files
            .iter()
            .map(|f| f.map_or_else(|| "-".to_string(), crate::write::hash_text))
            .collect();
        out.push_str(&files.join("\t"));
        out.push('\n');
        for (slug, whole, parts) in &self.chalets {
            out.push_str(&format!(
                "{slug}\t{whole:032x}\t{:032x}\t{:032x}\t{:032x}\n",
                parts[0], parts[1], parts[2]
            ));
        }
        out
    }

    /// [`ListState::to_text`] read back; `None` when anything in it is not as written.
    pub fn from_text<'a>(mut lines: impl Iterator<Item = &'a str>) -> Option<ListState> {
        let hex = |s: &str| u128::from_str_radix(s, 16).ok();
        let global = hex(lines.next()?)?;
        let files: Vec<Option<u128>> = lines
            .next()?
            .split('\t')
            .map(|f| {
                if f == "-" {
                    Some(None)
                } else {
                    crate::write::hash_value(f).map(Some)
                }
            })
            .collect::<Option<_>>()?;
        let files: [Option<u128>; 3] = files.try_into().ok()?;
        let mut chalets = Vec::new();
        for line in lines {
            let f: Vec<&str> = line.split('\t').collect();
            let [slug, whole, a, b, c] = f.as_slice() else {
                return None;
            };
            chalets.push((slug.to_string(), hex(whole)?, [hex(a)?, hex(b)?, hex(c)?]));
        }
        Some(ListState { global, chalets, files })
    }

    /// The hash `file` (an index into [`FILES`]) had when made from the same inputs as `now`'s.
    pub fn unchanged(&self, now: &ListState, file: usize) -> Option<u128> {
        let same = self.global == now.global
            && self.chalets.len() == now.chalets.len()
            && self
                .chalets
                .iter()
                .zip(&now.chalets)
                .all(|(a, b)| a.0 == b.0 && a.2[file] == b.2[file]);
        self.files[file].filter(|_| same)
    }
}

impl Renderer<'_> {
    /// What the lists are made from in this build, taking unchanged chalets' parts from `prev`.
    /// `Err` when a changed chalet's contents cannot be read back (see [`crate::model::Chalet::read_contents`]).
    pub(super) fn list_state(&self, prev: Option<&ListState>) -> Result<ListState, Diagnostic> {
        let global = self.lists_global();
        // Parts made under other market-wide values are not comparable: all are made again.
        let prev = prev.filter(|p| p.global == global);
        let known: HashMap<&str, (u128, Parts)> = prev
            .map(|p| {
                p.chalets
                    .iter()
                    .map(|(s, w, parts)| (s.as_str(), (*w, *parts)))
                    .collect()
            })
            .unwrap_or_default();
        let chalets: Result<Vec<_>, Diagnostic> = self
            .site
            .chalets
            .par_iter()
            .enumerate()
            .map(|(ci, c)| {
                let whole = self.chalet_fps[ci].whole;
                let parts = match known.get(c.slug.as_str()) {
                    Some((w, parts)) if *w == whole => *parts,
                    _ => self.parts(ci)?,
                };
                Ok((c.slug.to_string(), whole, parts))
            })
            .collect();
        Ok(ListState {
            global,
            chalets: chalets?,
            files: Default::default(),
        })
    }

    /// Everything market-wide (the values every page sees) and the sitemap's other pages.
    fn lists_global(&self) -> u128 {
        let mut fp = self.global.clone();
        fp.add(b"lists 1");
        let base = &self.site.market.base_url;
        // The market's own pages (the chalets' are in their parts).
        for page in &self.pages {
            if page.in_sitemap() {
                fp.add(base.join(&self.url_rel(*page)).as_bytes());
            }
        }
        fp.finish()
    }

    /// One chalet's part of each list, hashed, made as the whole files make them.
    fn parts(&self, ci: usize) -> Result<Parts, Diagnostic> {
        let c = &self.site.chalets[ci];
        let base = &self.site.market.base_url;
        let mut sitemap = Fingerprint::default();
        let pages = std::iter::once(PageKind::Chalet(ci)).chain((0..c.items.len()).map(|pi| PageKind::Product(ci, pi)));
        for page in pages.filter(|p| p.in_sitemap()) {
            sitemap.add(base.join(&self.url_rel(page)).as_bytes());
        }
        let contents = c.read_contents()?;
        let mut search = Fingerprint::default();
        search.add_json(&super::data::search_entries(&self.views, c, &contents));
        let mut catalogue = Fingerprint::default();
        catalogue.add_json(&crate::catalogue::chalet_items(self.site, c, &contents));
        Ok([sitemap.finish(), search.finish(), catalogue.finish()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_unchanged_only_with_the_same_key_and_every_part() {
        let state = |global, chalets: &[(&str, u128, Parts)]| ListState {
            global,
            chalets: chalets.iter().map(|(s, w, p)| (s.to_string(), *w, *p)).collect(),
            files: [Some(0x5), Some(0xaf << 64), None],
        };
        let before = state(1, &[("a", 10, [1, 2, 3]), ("b", 20, [4, 5, 6])]);
        assert_eq!(ListState::from_text(before.to_text().lines()), Some(before.clone()));
        // b's description edited: its whole fingerprint changed, none of its parts.
        let edited = state(1, &[("a", 10, [1, 2, 3]), ("b", 21, [4, 5, 6])]);
        assert_eq!(before.unchanged(&edited, 0), Some(0x5));
        assert_eq!(before.unchanged(&edited, 1), Some(0xaf << 64));
        assert_eq!(before.unchanged(&edited, 2), None, "unknown file: made again");
        // b's price: the search index and the catalogue change, not the sitemap.
        let priced = state(1, &[("a", 10, [1, 2, 3]), ("b", 22, [4, 7, 8])]);
        assert_eq!(before.unchanged(&priced, 0), Some(0x5));
        assert_eq!(before.unchanged(&priced, 1), None);
        for other in [
            state(2, &[("a", 10, [1, 2, 3]), ("b", 20, [4, 5, 6])]),
            state(1, &[("a", 10, [1, 2, 3])]),
            state(1, &[("b", 20, [4, 5, 6]), ("a", 10, [1, 2, 3])]),
            state(1, &[("a", 10, [1, 2, 3]), ("c", 20, [4, 5, 6])]),
        ] {
            assert_eq!(before.unchanged(&other, 0), None, "{other:?}");
        }
        for damaged in ["", "zz\n-\t-\t-\n", "01\n-\t-\n", "01\n-\t-\t-\na\t1\t2\n"] {
            assert_eq!(ListState::from_text(damaged.lines()), None, "{damaged:?}");
        }
    }
}
