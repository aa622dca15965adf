//! A text file held in memory with what is needed to turn byte offsets into line and column.

/// A content file's text and its display path.
#[derive(Clone, Debug)]
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
