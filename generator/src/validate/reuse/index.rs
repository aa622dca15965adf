//! The entries' stamps, one line each, in a file beside them: what the next build's listing
//! asks ([`super::ChaletMemo::pruner`]) to leave a kept chalet's products out of it. A hint
//! only: an entry is still checked whole when it is taken.

use super::{Entry, FORMAT, RACY_NS};
use crate::load::FolderStamp;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub(super) const INDEX: &str = "stamps.index";

/// An entry's stamps, as [`INDEX`] keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stamped {
    digest: u128,
    newest_ns: i128,
    scanned_ns: i128,
}

impl Stamped {
    pub(super) fn of(e: &Entry) -> Stamped {
        Stamped {
            digest: e.stamps,
            newest_ns: e.newest_ns,
            scanned_ns: e.scanned_ns,
        }
    }

    /// Whether a folder listed with `stamp` is the one the entry was validated from, its
    /// files then older than the listing by more than a clock's tick (see [`RACY_NS`]).
    pub(super) fn vouches(&self, stamp: &FolderStamp) -> bool {
        self.digest == stamp.digest && self.newest_ns == stamp.newest_ns && self.newest_ns < self.scanned_ns - RACY_NS
    }
}

/// The index in `dir`; empty when there is none or it is of another format.
pub(super) fn read(dir: &Path) -> HashMap<String, Stamped> {
    let text = std::fs::read_to_string(dir.join(INDEX)).unwrap_or_default();
    let mut lines = text.lines();
    if lines.next() != Some(FORMAT) {
        return HashMap::new();
    }
    lines.filter_map(parse).collect()
}

/// Writes the index of `stamped` in `dir`. Failing costs the next build its pruned listing,
/// nothing else.
pub(super) fn write(dir: &Path, stamped: &BTreeMap<String, Stamped>) {
    let mut index = format!("{FORMAT}\n");
    for (folder, s) in stamped {
        index.push_str(&format!(
            "{folder}\t{:032x}\t{}\t{}\n",
            s.digest, s.newest_ns, s.scanned_ns
        ));
    }
    if std::fs::create_dir_all(dir).is_ok() {
        let _ = crate::fs::write_atomic(&dir.join(INDEX), index.as_bytes());
    }
}

/// A line of [`INDEX`]: folder, digest, newest time, when it was listed.
fn parse(line: &str) -> Option<(String, Stamped)> {
    let mut f = line.split('\t');
    let folder = f.next()?.to_string();
    let digest = u128::from_str_radix(f.next()?, 16).ok()?;
    let newest_ns = f.next()?.parse().ok()?;
    let scanned_ns = f.next()?.parse().ok()?;
    let stamped = Stamped {
        digest,
        newest_ns,
        scanned_ns,
    };
    Some((folder, stamped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_vouches_for_a_settled_folder_as_it_was_and_reads_back_what_it_wrote() {
        let dir = tempfile::tempdir().expect("tmp");
        let settled = Stamped {
            digest: 7,
            newest_ns: 1_000,
            scanned_ns: 1_000 + RACY_NS + 1,
        };
        let racy = Stamped {
            scanned_ns: 1_000 + RACY_NS,
            ..settled
        };
        let stamped = BTreeMap::from([("a".to_string(), settled), ("b".to_string(), racy)]);
        write(dir.path(), &stamped);
        let back = read(dir.path());
        assert_eq!(back.len(), 2);
        assert_eq!(back["a"], settled);
        let stamp = |digest, newest_ns| FolderStamp { digest, newest_ns };
        assert!(back["a"].vouches(&stamp(7, 1_000)));
        assert!(!back["a"].vouches(&stamp(8, 1_000)), "another folder");
        assert!(!back["a"].vouches(&stamp(7, 999)), "another newest file");
        assert!(
            !back["b"].vouches(&stamp(7, 1_000)),
            "changed within a tick of its listing"
        );
        // Another format, or none: nothing is vouched for.
        std::fs::write(dir.path().join(INDEX), "chalet-validated 0\na\t7\t1000\t9000000000\n").expect("write");
        assert!(read(dir.path()).is_empty());
        std::fs::remove_file(dir.path().join(INDEX)).expect("remove");
        assert!(read(dir.path()).is_empty());
    }
}
