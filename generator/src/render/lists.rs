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
//!
//! A file that did change is not made whole again when the output holds the last one: each is
//! a head, the chalets' parts one after another, and a tail, and the state keeps each part's
//! length, so the new file is spliced — the unchanged chalets' parts copied from the old file,
//! the changed chalets' made ([`crate::write::Splice`]). A price edited at 20,000 products
//! read every chalet's products back to write 20 MB; now one chalet's.

use super::Renderer;
use crate::diagnostic::Diagnostic;
use crate::model::{Chalet, Contents};
use crate::write::{Piece, Splice};
use chalet_types::routes::{self, Route};
use rayon::prelude::*;
use std::path::Path;

/// The files, in the order of [`Parts`].
pub const FILES: [&str; 3] = [routes::SITEMAP, routes::SEARCH_INDEX, routes::CATALOGUE];

/// Whether each file's parts are list elements, each written after a `,` — but the file's
/// first (JSON has no empty element).
const SEPARATED: [bool; 3] = [false, true, true];

/// One chalet's part of each file, hashed.
pub type Parts = [u128; 3];
/// The same parts' lengths, as made (with their separator).
pub type Lens = [u64; 3];

/// A list file's text as it is made: its head, then its parts, the first element's separator
/// dropped.
#[derive(Debug)]
pub struct Joined {
    text: String,
    separated: bool,
    any: bool,
}

impl Joined {
    pub fn new(head: String, separated: bool) -> Joined {
        Joined {
            text: head,
            separated,
            any: false,
        }
    }

    pub fn push(&mut self, part: &str) {
        if part.is_empty() {
            return;
        }
        let skip = usize::from(self.separated && !self.any);
        self.text.push_str(&part[skip..]);
        self.any = true;
    }

    /// The text with its tail (`tail(any)`: whether a part was pushed).
    pub fn finish(mut self, tail: impl Fn(bool) -> &'static str) -> String {
        self.text.push_str(tail(self.any));
        self.text
    }
}

/// What the lists were made from, and the files they became.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListState {
    /// The market-wide values every list sees, and the pages of the sitemap that are no chalet's.
    pub global: u128,
    /// Each chalet, in the site's order: slug, whole fingerprint, its parts and their lengths.
    pub chalets: Vec<(String, u128, Parts, Lens)>,
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
        for (slug, whole, parts, lens) in &self.chalets {
            out.push_str(&format!(
                "{slug}\t{whole:032x}\t{:032x}\t{:032x}\t{:032x}\t{}\t{}\t{}\n",
                parts[0], parts[1], parts[2], lens[0], lens[1], lens[2]
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
            let [slug, whole, a, b, c, la, lb, lc] = f.as_slice() else {
                return None;
            };
            let len = |s: &str| s.parse::<u64>().ok();
            chalets.push((
                slug.to_string(),
                hex(whole)?,
                [hex(a)?, hex(b)?, hex(c)?],
                [len(la)?, len(lb)?, len(lc)?],
            ));
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
        // Both in the site's order, by slug: a chalet's last parts are found by halving, not
        // through a map of a thousand (0.2 MB at L).
        let prev = prev.map_or(&[][..], |p| &p.chalets[..]);
        let sorted = prev.is_sorted_by(|a, b| a.0 < b.0);
        let mut made = Vec::new();
        self.site
            .chalets
            .par_iter()
            .enumerate()
            .map(|(ci, c)| {
                let whole = self.chalet_fps[ci].whole;
                let last = sorted
                    .then(|| prev.binary_search_by(|p| p.0.as_str().cmp(c.slug.as_str())).ok())
                    .flatten()
                    .map(|i| &prev[i]);
                let (parts, lens) = match last {
                    Some((_, w, parts, lens)) if *w == whole => (*parts, *lens),
                    _ => {
                        let texts = self.part_texts(ci)?;
                        (
                            texts.each_ref().map(|t| xxhash_rust::xxh3::xxh3_128(t.as_bytes())),
                            texts.each_ref().map(|t| t.len() as u64),
                        )
                    }
                };
                Ok((c.slug.to_string(), whole, parts, lens))
            })
            .collect_into_vec(&mut made);
        let chalets: Result<Vec<_>, Diagnostic> = made.into_iter().collect();
        Ok(ListState {
            global,
            chalets: chalets?,
            files: Default::default(),
        })
    }

    /// Everything market-wide (the values every page sees) and the sitemap's other pages.
    fn lists_global(&self) -> u128 {
        let mut fp = self.global.clone();
        fp.add(b"lists 2");
        // The market's own pages (the chalets' are in their parts).
        fp.add(self.market_sitemap().as_bytes());
        fp.finish()
    }

    /// The sitemap's lines for the market's own pages (fixed, categories, free pages).
    fn market_sitemap(&self) -> String {
        self.pages
            .iter()
            .copied()
            .filter(|p| p.in_sitemap())
            .map(|page| self.sitemap_line(&self.url_rel(page)))
            .collect()
    }

    fn sitemap_line(&self, rel: &str) -> String {
        let loc = self.site.market.base_url.join(rel);
        format!("  <url><loc>{}</loc></url>\n", crate::markdown::escape(&loc))
    }

    /// A chalet's sitemap lines: its page's, then its products' (`contents` read for its
    /// other parts are not kept, as they would be for [`crate::routes::PageKind::route`]).
    fn chalet_sitemap(&self, c: &Chalet, contents: &Contents) -> String {
        let products = contents.products.iter().map(|p| Route::Product {
            chalet: &c.slug,
            product: &p.sku.product,
        });
        std::iter::once(Route::Chalet(&c.slug))
            .chain(products)
            .map(|r| self.sitemap_line(&r.path()))
            .collect()
    }

    /// One chalet's part of each list, as the files hold it.
    fn part_texts(&self, ci: usize) -> Result<[String; 3], Diagnostic> {
        let c = &self.site.chalets[ci];
        let contents = c.read_contents()?;
        let sitemap = self.chalet_sitemap(c, &contents);
        let search = super::data::search_part(&self.views, c, &contents)?;
        let catalogue = crate::catalogue::part(self.site, c, &contents)?;
        Ok([sitemap, search, catalogue])
    }

    /// A list's text before the chalets' parts.
    fn list_head(&self, file: usize) -> Result<String, Diagnostic> {
        Ok(match file {
            0 => {
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"
                    .to_string()
                    + &self.market_sitemap()
            }
            1 => "[".to_string(),
            _ => crate::catalogue::head(self.site, &self.theme.strings)?,
        })
    }

    /// The chalets in the order of `file` (the catalogue's are by slug, as its SKUs sort).
    fn list_order<'s>(file: usize, slugs: impl Iterator<Item = &'s str>) -> Vec<usize> {
        let slugs: Vec<&str> = slugs.collect();
        let mut order: Vec<usize> = (0..slugs.len()).collect();
        if file == 2 {
            order.sort_by_key(|&i| slugs[i]);
        }
        order
    }

    /// `file` made whole: its head, every chalet's part, its tail.
    pub(super) fn list_text(&self, file: usize) -> Result<String, Diagnostic> {
        let site = self.site;
        match file {
            0 => {
                let mut text = Joined::new(self.list_head(0)?, false);
                for c in &site.chalets {
                    text.push(&self.chalet_sitemap(c, &*c.read_contents()?));
                }
                Ok(text.finish(list_tail(0)))
            }
            1 => super::data::search_index(site, &self.views),
            // A catalogue that cannot be written must stop the build: an empty one would
            // withdraw every product from sale when published.
            _ => crate::catalogue::catalogue_json(site, &self.theme.strings),
        }
    }

    /// `file` spliced from the one the output holds at `old` (as `prev` made it): the parts of
    /// the chalets `now` has as `prev` had them are cut from it, the others made. `None` when
    /// it cannot be (another head, no old file as recorded, most chalets changed): then it is
    /// made whole.
    pub(super) fn list_splice(
        &self,
        file: usize,
        prev: &ListState,
        now: &ListState,
        old: &Path,
    ) -> Result<Option<Splice>, Diagnostic> {
        let Some(old_hash) = prev.files[file].filter(|_| prev.global == now.global) else {
            return Ok(None);
        };
        let separated = SEPARATED[file];
        let head = self.list_head(file)?;
        // Where each part of the old file is: (start, length, written without its separator).
        let mut at = head.len() as u64;
        let mut any = false;
        let mut old_parts: Vec<(&str, OldPart)> = Vec::with_capacity(prev.chalets.len());
        for i in Self::list_order(file, prev.chalets.iter().map(|c| c.0.as_str())) {
            let (slug, _, parts, lens) = &prev.chalets[i];
            if lens[file] == 0 {
                continue;
            }
            let stripped = separated && !any;
            let written = lens[file] - u64::from(stripped);
            old_parts.push((slug, (at, written, stripped, parts[file])));
            at += written;
            any = true;
        }
        let old_len = at + list_tail(file)(any).len() as u64;
        old_parts.sort_unstable_by_key(|p| p.0);
        let old_part = |slug: &str| {
            let i = old_parts.binary_search_by_key(&slug, |p| p.0).ok()?;
            Some(old_parts[i].1)
        };
        let mut pieces = vec![Piece::New(head.into_bytes())];
        let push_old = |pieces: &mut Vec<Piece>, from: u64, len: u64| match pieces.last_mut() {
            Some(Piece::Old { at, len: l }) if *at + *l == from => *l += len,
            _ => pieces.push(Piece::Old { at: from, len }),
        };
        let (mut any, mut made) = (false, 0);
        for ci in Self::list_order(file, now.chalets.iter().map(|c| c.0.as_str())) {
            let (slug, _, parts, lens) = &now.chalets[ci];
            if lens[file] == 0 {
                continue;
            }
            let strip = separated && !any;
            any = true;
            match old_part(slug) {
                Some((from, len, stripped, hash)) if hash == parts[file] => match (strip, stripped) {
                    (true, false) => push_old(&mut pieces, from + 1, len - 1),
                    (false, true) => {
                        pieces.push(Piece::New(b",".to_vec()));
                        push_old(&mut pieces, from, len);
                    }
                    _ => push_old(&mut pieces, from, len),
                },
                _ => {
                    made += 1;
                    let text = std::mem::take(&mut self.part_texts(ci)?[file]);
                    pieces.push(Piece::New(text.as_bytes()[usize::from(strip)..].to_vec()));
                }
            }
        }
        // Past half the market changed, making it whole costs no more.
        if made * 2 > now.chalets.len() {
            return Ok(None);
        }
        pieces.push(Piece::New(list_tail(file)(any).as_bytes().to_vec()));
        Ok(Splice::new(old, old_len, old_hash, pieces))
    }
}

/// Where a chalet's part lies in the old file: start, length, whether it was written without
/// its separator (the file's first), and its hash.
type OldPart = (u64, u64, bool, u128);

/// A list's text after the chalets' parts (by whether it has one).
fn list_tail(file: usize) -> fn(bool) -> &'static str {
    match file {
        0 => |_| "</urlset>\n",
        1 => |_| "]",
        _ => crate::catalogue::tail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_unchanged_only_with_the_same_key_and_every_part() {
        let state = |global, chalets: &[(&str, u128, Parts)]| ListState {
            global,
            chalets: chalets
                .iter()
                .map(|(s, w, p)| (s.to_string(), *w, *p, [7, 0, 9]))
                .collect(),
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
        for damaged in [
            "",
            "zz\n-\t-\t-\n",
            "01\n-\t-\n",
            "01\n-\t-\t-\na\t1\t2\n",
            "01\n-\t-\t-\na\t1\t2\t3\t4\n",
            "01\n-\t-\t-\na\t1\t2\t3\t4\t5\t6\tx\n",
        ] {
            assert_eq!(ListState::from_text(damaged.lines()), None, "{damaged:?}");
        }
    }
}
