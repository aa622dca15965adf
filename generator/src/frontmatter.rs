//! Splits a Markdown file into its YAML front matter and body, keeping byte offsets so that
//! positions in either part can be reported in the real file.

/// The two parts of a Markdown file with front matter. Offsets are bytes into the whole file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split<'a> {
    pub yaml: &'a str,
    /// Byte offset where the YAML text starts (the line after the opening `---`).
    pub yaml_offset: usize,
    pub body: &'a str,
    pub body_offset: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// The file does not start with a `---` line.
    Missing,
    /// An opening `---` without a closing one.
    Unclosed,
}

/// `---\n<yaml>\n---\n<body>`; a UTF-8 BOM and `\r\n` line ends are accepted. The closing fence
/// may also be `...` (YAML's own document end marker).
pub fn split(text: &str) -> Result<Split<'_>, SplitError> {
    let start = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let rest = &text[start..];
    let first_line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
    if rest[..first_line_end].trim_end() != "---" {
        return Err(SplitError::Missing);
    }
    let yaml_offset = start + first_line_end;
    let mut pos = yaml_offset;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        let line = text[pos..end].trim_end();
        if line == "---" || line == "..." {
            return Ok(Split {
                yaml: &text[yaml_offset..pos],
                yaml_offset,
                body: &text[end..],
                body_offset: end,
            });
        }
        pos = end;
    }
    Err(SplitError::Unclosed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_and_keeps_offsets() {
        let t = "---\nname: x\n---\nBody\n";
        let s = split(t).expect("splits");
        assert_eq!(s.yaml, "name: x\n");
        assert_eq!(&t[s.yaml_offset..s.yaml_offset + 4], "name");
        assert_eq!(s.body, "Body\n");
        assert_eq!(&t[s.body_offset..], "Body\n");
    }

    #[test]
    fn accepts_crlf_bom_and_empty_parts() {
        let s = split("\u{feff}---\r\na: 1\r\n---\r\n").expect("splits");
        assert_eq!(s.yaml, "a: 1\r\n");
        assert_eq!(s.body, "");
        assert_eq!(split("---\n---\n").expect("splits").yaml, "");
    }

    #[test]
    fn reports_missing_and_unclosed() {
        assert_eq!(split("name: x\n"), Err(SplitError::Missing));
        assert_eq!(split("---\nname: x\n"), Err(SplitError::Unclosed));
        assert_eq!(split(""), Err(SplitError::Missing));
    }

    proptest! {
        #[test]
        fn never_panics_and_parts_are_slices(s in "(---\r?\n)?[\\PC\n]{0,60}(\n---\n)?[\\PC\n]{0,20}") {
            if let Ok(sp) = split(&s) {
                prop_assert_eq!(&s[sp.yaml_offset..sp.yaml_offset + sp.yaml.len()], sp.yaml);
                prop_assert_eq!(&s[sp.body_offset..], sp.body);
                prop_assert!(sp.yaml_offset <= sp.body_offset);
            }
        }

        #[test]
        fn round_trips_any_yaml_and_body(yaml in "([a-z]{1,8}: [a-z0-9 ]{0,10}\n){0,5}", body in "[\\PC\n]{0,40}") {
            prop_assume!(!body.starts_with("---") && !yaml.contains("---"));
            let text = format!("---\n{yaml}---\n{body}");
            let sp = split(&text).expect("splits");
            prop_assert_eq!(sp.yaml, yaml.as_str());
            prop_assert_eq!(sp.body, body.as_str());
        }
    }
}
