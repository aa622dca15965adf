//! The pages' state a chalet at a time. A chalet's pages — its own and its products' — are one
//! **unit**: its fingerprint folds theirs ([`crate::render::Renderer::units`]), and the last
//! build recorded it with the digest of the unit's lines in the manifest
//! ([`crate::write::LinesDigest`]). When both are as recorded, the build takes the unit whole:
//! its pages are neither rendered, nor looked up one by one, nor listed by the write stage — the
//! new manifest takes its lines, the new state its pages' lines, as they were. At 21,000 pages,
//! what a rebuild held a page at a time for every page (fingerprints, paths, the write stage's
//! list) was half its memory; now it is held for the changed chalets only.
//!
//! The units' record (`units-<output>.state`): a header like the pages' state's, then
//! `<slug>\t<fingerprint>\t<digest>` a chalet.

use super::state::{Lines, header};
use super::{FORMAT, path_key};
use crate::write::{Hashes, LinesDigest, Manifest, hash_value, unit_of};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::io::Write;
use std::path::Path;

/// Bumped whenever what a unit's fingerprint or digest covers changes.
const UNITS_FORMAT: &str = "chalet-units 1";

/// A page line's path (its third field).
fn page_of(line: &str) -> Option<&str> {
    line.splitn(3, '\t').nth(2)
}

/// The last build's units: slug → (fingerprint, digest of its lines). Empty when there is no
/// record of this version and options (then no unit is taken whole).
pub(super) fn read(path: &Path, options: &str) -> HashMap<String, (u128, u128)> {
    let mut units = HashMap::default();
    let Ok(mut lines) = Lines::open(path) else {
        return units;
    };
    if lines.header(UNITS_FORMAT, options).is_err() {
        return units;
    }
    let hex = |s: Option<&str>| s.and_then(|s| u128::from_str_radix(s, 16).ok());
    loop {
        match lines.next() {
            Some(true) => {}
            Some(false) => return units,
            None => return HashMap::default(),
        }
        let mut f = lines.line.split('\t');
        let (Some(slug), Some(fp), Some(digest)) = (f.next(), hex(f.next()), hex(f.next())) else {
            return HashMap::default();
        };
        units.insert(slug.to_string(), (fp, digest));
    }
}

/// The last build's pages but those of the units in `kept`, each as (path key, fingerprint,
/// file hash), sorted by key; a page whose file the output no longer holds as recorded is left
/// out. `Err` says why none can be trusted.
pub(super) fn read_pages(
    path: &Path,
    options: &str,
    manifest: &Manifest,
    kept: &HashSet<&str>,
) -> Result<Vec<(u128, u128, u128)>, &'static str> {
    let mut lines = Lines::open(path).map_err(|_| "the incremental state could not be read")?;
    lines.header(FORMAT, options)?;
    let mut pages = Vec::new();
    loop {
        match lines.next() {
            Some(true) => {}
            Some(false) => break,
            None => return Err("the incremental state is damaged"),
        }
        let mut parts = lines.line.splitn(3, '\t');
        let (Some(fp_text), Some(hash), Some(page)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("the incremental state is damaged");
        };
        let Ok(fp) = u128::from_str_radix(fp_text, 16) else {
            return Err("the incremental state is damaged");
        };
        if unit_of(page).is_some_and(|slug| kept.contains(slug)) {
            continue;
        }
        // A page whose file changed since (or is gone) is simply not remembered; nor is one
        // whose hash is not the 32 digits this program writes ([`hash_value`]).
        if manifest.get(page) == Some(hash)
            && let Some(hash) = hash_value(hash)
        {
            pages.push((path_key(page), fp, hash));
        }
    }
    pages.sort_unstable_by_key(|p| p.0);
    Ok(pages)
}

/// Writes the new pages' state to `w`: `made` (path, fingerprint, file hash, in path order) and,
/// copied from the last state at `before`, the lines of the units in `kept`, merged in path
/// order.
pub(super) fn write_pages<'p>(
    w: &mut dyn Write,
    options: &str,
    made: impl Iterator<Item = (&'p str, u128, u128)>,
    before: Option<&Path>,
    kept: &HashSet<&str>,
) -> std::io::Result<()> {
    header(w, FORMAT, options)?;
    let damaged = || std::io::Error::other("the incremental state changed while it was kept");
    let mut old = match before.filter(|_| !kept.is_empty()) {
        Some(path) => {
            let mut lines = Lines::open(path)?;
            lines.header(FORMAT, options).map_err(|_| damaged())?;
            Some(lines)
        }
        None => None,
    };
    // The next old line of a kept unit, in `old.line`.
    let next_kept = |old: &mut Option<Lines>| -> std::io::Result<bool> {
        let Some(lines) = old else { return Ok(false) };
        loop {
            match lines.next() {
                Some(true) => {}
                Some(false) => return Ok(false),
                None => return Err(damaged()),
            }
            if page_of(&lines.line)
                .and_then(unit_of)
                .is_some_and(|slug| kept.contains(slug))
            {
                return Ok(true);
            }
        }
    };
    let mut pending = next_kept(&mut old)?;
    let mut line = String::with_capacity(256);
    for (page, fp, hash) in made {
        while pending
            && let Some(lines) = &old
            && page_of(&lines.line).is_some_and(|p| p < page)
        {
            w.write_all(lines.line.as_bytes())?;
            w.write_all(b"\n")?;
            pending = next_kept(&mut old)?;
        }
        // One line a page, written in place: a `format!` each was a third of it, then
        // `{:032x}` half of what was left (21,000 pages).
        line.clear();
        chalet_types::encoding::push_hex(&mut line, &fp.to_be_bytes());
        line.push('\t');
        chalet_types::encoding::push_hex(&mut line, &hash.to_be_bytes());
        for part in ["\t", page, "\n"] {
            line.push_str(part);
        }
        w.write_all(line.as_bytes())?;
    }
    while pending && let Some(lines) = &old {
        w.write_all(lines.line.as_bytes())?;
        w.write_all(b"\n")?;
        pending = next_kept(&mut old)?;
    }
    Ok(())
}

/// Writes the units' record: each of this build's units with its fingerprint and the digest
/// of its lines — the recorded one for a unit taken whole, else made from the files written.
pub(super) fn write(
    w: &mut dyn Write,
    options: &str,
    units: &[(String, u128, bool)],
    before: &HashMap<String, (u128, u128)>,
    written: &Hashes,
) -> std::io::Result<()> {
    header(w, UNITS_FORMAT, options)?;
    for (slug, fp, kept) in units {
        let digest = match before.get(slug) {
            Some(&(_, digest)) if *kept => digest,
            _ => {
                let mut d = LinesDigest::default();
                let prefix = format!("{}/{slug}/", chalet_types::routes::CHALETS);
                for (path, hash) in written.under(&prefix) {
                    d.add(path, hash);
                }
                d.finish()
            }
        };
        writeln!(w, "{slug}\t{fp:032x}\t{digest:032x}")?;
    }
    Ok(())
}
