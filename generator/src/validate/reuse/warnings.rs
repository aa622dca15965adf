//! A kept chalet's warnings: counted when its entry is read, read back for the report.

use super::FORMAT;
use crate::diagnostic::Diagnostic;
use serde::Deserialize;
use std::path::Path;

/// A chalet's warnings in its entry.
#[derive(Clone, Debug)]
pub(in crate::validate) enum Warnings {
    /// Validated by this process.
    Held(Vec<Diagnostic>),
    /// This many, left in the entry's file until the report is made ([`read_warnings`]).
    Kept(usize),
}

/// An entry's warnings as a list in its JSON; read back as their count only.
pub(super) mod in_entry {
    use super::Warnings;
    use serde::de::{IgnoredAny, SeqAccess, Visitor};
    use serde::{Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(w: &Warnings, s: S) -> Result<S::Ok, S::Error> {
        match w {
            Warnings::Held(list) => list.serialize(s),
            // Only entries validated afresh are written.
            Warnings::Kept(_) => Err(serde::ser::Error::custom("kept warnings are not written again")),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Warnings, D::Error> {
        struct Count;
        impl<'de> Visitor<'de> for Count {
            type Value = usize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of warnings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(n)
            }
        }
        d.deserialize_seq(Count).map(Warnings::Kept)
    }
}

/// The warnings of the entry at `path`, read back for the report; refused unless the entry is
/// still the one that was taken (same format, rules and folder stamps: the same validation).
pub(super) fn read_warnings(path: &Path, key: &str, stamps: u128) -> Result<Vec<Diagnostic>, String> {
    #[derive(Deserialize)]
    struct Head {
        format: String,
        key: String,
        stamps: u128,
        diags: Vec<Diagnostic>,
    }
    let head: Head = crate::source::decode_head(path).ok_or("cannot be read")?;
    if (head.format.as_str(), head.key.as_str(), head.stamps) != (FORMAT, key, stamps) {
        return Err("changed while this build ran".into());
    }
    Ok(head.diags)
}
