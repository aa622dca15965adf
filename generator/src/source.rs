//! A text file held in memory with what is needed to turn byte offsets into line and column.

/// A content file's text and its display path.
#[derive(Clone)]
pub struct SourceFile {
    /// Path relative to the content folder, with `/` separators (`chalets/x/chalet.yaml`).
    pub rel: String,
    /// What diagnostics print (`content/chalets/x/chalet.yaml`).
    pub display: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(rel: impl Into<String>, display: impl Into<String>, text: String) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            rel: rel.into(),
            display: display.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset. Offsets past the end clamp.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        (line + 1, col)
    }
}

/// The text by its length and hash: the model's `Debug` feeds the incremental build's
/// fingerprints, where escaping every text and listing every line start cost more than the
/// rest of the model together, and a hash changes with the text as surely.
impl std::fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFile")
            .field("rel", &self.rel)
            .field("display", &self.display)
            .field("len", &self.text.len())
            .field(
                "text_xxh3",
                &format_args!("{:032x}", xxhash_rust::xxh3::xxh3_128(self.text.as_bytes())),
            )
            .finish()
    }
}

/// Kept in the validation cache as its path, display path and text; the line starts are
/// found again when it is read back.
impl serde::Serialize for SourceFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.rel, &self.display, &self.text).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for SourceFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SourceFile, D::Error> {
        let (rel, display, text) = <(String, String, String)>::deserialize(d)?;
        Ok(SourceFile::new(rel, display, text))
    }
}

/// `#[serde(with)]` for an `Arc<T>`, kept as the `T` it points to (serde's `rc` feature would
/// be needed otherwise).
pub mod shared {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::sync::Arc;

    pub fn serialize<S: Serializer, T: Serialize>(value: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
        value.as_ref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Arc<T>, D::Error> {
        T::deserialize(d).map(Arc::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_and_lines() {
        let f = SourceFile::new("a", "a", "ab\nçé x\n".to_string());
        assert_eq!(f.position(0), (1, 1));
        assert_eq!(f.position(3), (2, 1));
        // "çé " is 5 bytes, 3 characters: the x is column 4.
        assert_eq!(f.position(8), (2, 4));
        assert_eq!(f.position(999), (3, 1));
    }
}
