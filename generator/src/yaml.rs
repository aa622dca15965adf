//! YAML read into a small tree where every node knows its position, then read field by field
//! with every problem collected (serde's derive stops at the first; artisans deserve all).
//!
//! Parsing is serde-saphyr's (panic-free, `Spanned` locations); this module only adds the
//! tree and the typed readers (`text`, `money`, `slug`, …) that push diagnostics.

use crate::diagnostic::{Diagnostic, Diagnostics, Severity, did_you_mean};
use crate::source::SourceFile;
use chalet_types::{Date, Money, Slug};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A position in a file: 1-based line and column, and the byte offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A YAML number, kept as written (`14.90` must never pass through a float).
    Number(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Pos,
}

impl Node {
    pub fn describe(&self) -> &'static str {
        match self.value {
            Value::Null => "nothing",
            Value::Bool(_) => "a yes/no value",
            Value::Number(_) => "a number",
            Value::Str(_) => "text",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a set of fields",
        }
    }
}

// ---------------------------------------------------------------- parsing

/// A node as serde hands it over; positions are added when converting to [`Node`].
enum Raw {
    Null,
    Bool(bool),
    Int(String),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<RawKey>, Spanned<Raw>)>),
}

struct RawKey(String);

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Int(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw::Int(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Raw, E> {
        Ok(Raw::Int(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<RawKey>>()? {
            let value = map.next_value::<Spanned<Raw>>()?;
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = RawKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<RawKey, E> {
                Ok(RawKey(v.to_owned()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawKey, E> {
                Ok(RawKey(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawKey, E> {
                Err(E::custom("a field name cannot be empty"))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

/// Where a YAML text sits in its file.
#[derive(Clone, Copy, Debug, Default)]
pub struct Embed {
    /// Byte offset of the YAML text in the file.
    pub offset: usize,
}

/// Parses `yaml` (a slice of `file.text` starting at `embed.offset`) into a positioned tree.
/// A syntax error becomes one diagnostic at its real position in the file.
pub fn parse(file: &SourceFile, yaml: &str, embed: Embed, diags: &mut Diagnostics) -> Option<Node> {
    let (first_line, _) = file.position(embed.offset);
    if yaml.trim().is_empty() {
        return Some(Node {
            value: Value::Map(Vec::new()),
            pos: Pos {
                line: first_line,
                col: 1,
            },
        });
    }
    let options = serde_saphyr::options! { with_snippet: false };
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(yaml, options) {
        Ok(root) => Some(convert(root, yaml, first_line)),
        Err(err) => {
            let (line, col) = error_position(&err);
            diags.push(Diagnostic {
                severity: Severity::Error,
                path: file.display(),
                line: line + first_line - 1,
                col,
                message: format!("this is not valid YAML: {}", yaml_message(&err)),
                hint: Some("check the indentation and that text containing `: ` or `#` is in quotes".into()),
            });
            None
        }
    }
}

/// Where serde-saphyr says a YAML error is: 1-based line and column, 1:1 when it cannot say.
pub fn error_position(err: &serde_saphyr::Error) -> (usize, usize) {
    err.location()
        .map_or((1, 1), |l| ((l.line() as usize).max(1), (l.column() as usize).max(1)))
}

/// serde-saphyr's message without its own "at line x column y" (we print the position first),
/// and in the words of someone writing a file rather than configuring the library: its
/// duplicate-key and budget errors name options of its API ("set DuplicateKeyPolicy in Options",
/// "budget breached: Nodes {…}").
fn yaml_message(err: &serde_saphyr::Error) -> String {
    let text = err.without_snippet().to_string();
    let text = text.lines().next().unwrap_or("").to_string();
    let text = match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let lower = text.to_ascii_lowercase();
    if lower.contains("duplicate") {
        "a field is written twice in the same place; keep one".to_string()
    } else if lower.contains("budget") {
        "the file is too large or nests too deeply to be read".to_string()
    } else {
        text
    }
}

fn to_pos(loc: &serde_saphyr::Location, first_line: usize) -> Pos {
    Pos {
        line: (loc.line() as usize).max(1) + first_line - 1,
        col: (loc.column() as usize).max(1),
    }
}

fn convert(raw: Spanned<Raw>, yaml: &str, first_line: usize) -> Node {
    let pos = to_pos(&raw.referenced, first_line);
    let value = match raw.value {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(s) => Value::Number(s),
        Raw::Float(f) => {
            // The digits as written, from the source span; the float is only a fallback.
            let span = raw.referenced.span();
            let written = span
                .byte_offset()
                .zip(span.byte_len())
                .and_then(|(o, l)| yaml.get(o as usize..(o + l) as usize))
                .map(|s| s.trim().to_string());
            Value::Number(written.filter(|s| !s.is_empty()).unwrap_or_else(|| f.to_string()))
        }
        Raw::Str(s) => Value::Str(s),
        Raw::Seq(items) => Value::Seq(items.into_iter().map(|i| convert(i, yaml, first_line)).collect()),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = Key {
                        name: k.value.0,
                        pos: to_pos(&k.referenced, first_line),
                    };
                    (key, convert(v, yaml, first_line))
                })
                .collect(),
        ),
    };
    Node { value, pos }
}

// ---------------------------------------------------------------- reading typed values

/// Reads typed values out of nodes of one file, collecting every problem.
#[derive(Debug)]
pub struct Reader<'a> {
    pub file: &'a SourceFile,
    pub diags: &'a mut Diagnostics,
}

/// The fields of one YAML mapping, checked against the names it may use.
#[derive(Clone, Copy, Debug)]
pub struct Fields<'n> {
    pub pos: Pos,
    entries: &'n [(Key, Node)],
}

impl<'n> Fields<'n> {
    pub fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v)
            .filter(|v| v.value != Value::Null)
    }
}

impl Reader<'_> {
    pub fn error(&mut self, pos: Pos, message: impl Into<String>, hint: Option<String>) {
        self.push(Severity::Error, pos, message.into(), hint);
    }

    pub fn warning(&mut self, pos: Pos, message: impl Into<String>, hint: Option<String>) {
        self.push(Severity::Warning, pos, message.into(), hint);
    }

    /// Where a node is, for diagnostics raised by a later stage.
    pub fn origin(&self, pos: Pos) -> crate::model::Origin {
        crate::model::Origin {
            path: self.file.display(),
            line: pos.line,
            col: pos.col,
        }
    }

    fn push(&mut self, severity: Severity, pos: Pos, message: String, hint: Option<String>) {
        self.diags.push(Diagnostic {
            severity,
            path: self.file.display(),
            line: pos.line,
            col: pos.col,
            message,
            hint,
        });
    }

    /// A mapping whose keys must be among `allowed`; unknown keys are reported with a suggestion.
    pub fn fields<'n>(&mut self, node: &'n Node, what: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.error(
                node.pos,
                format!(
                    "{what} should be a set of `field: value` lines, not {}",
                    node.describe()
                ),
                None,
            );
            return None;
        };
        for (key, _) in entries {
            if !allowed.contains(&key.name.as_str()) {
                let hint = match did_you_mean(&key.name, allowed.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the fields of {what} are: {}", allowed.join(", ")),
                };
                self.error(key.pos, format!("unknown field `{}` in {what}", key.name), Some(hint));
            }
        }
        Some(Fields { pos: node.pos, entries })
    }

    /// A field that must be present; reports it missing at the mapping's position.
    pub fn required<'n>(&mut self, fields: &Fields<'n>, name: &str, what: &str, example: &str) -> Option<&'n Node> {
        let found = fields.get(name);
        if found.is_none() {
            self.error(
                fields.pos,
                format!("{what} is missing its required field `{name}`"),
                Some(format!("add a line like `{name}: {example}`")),
            );
        }
        found
    }

    /// Text; a number or yes/no written where text is expected is taken as written.
    pub fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) if s.trim().is_empty() => {
                self.error(node.pos, format!("{what} is empty"), None);
                None
            }
            Value::Str(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.clone()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                self.error(
                    node.pos,
                    format!("{what} should be text, not {}", node.describe()),
                    None,
                );
                None
            }
        }
    }

    pub fn opt_text(&mut self, fields: &Fields, name: &str, what: &str) -> Option<String> {
        fields.get(name).and_then(|n| self.text(n, what))
    }

    /// A price in euros: `"14.90"`, `"14,90"` or the number `14.90`, exactly, in cents.
    pub fn money(&mut self, node: &Node, what: &str) -> Option<Money> {
        let text = match &node.value {
            Value::Str(s) | Value::Number(s) => s.as_str(),
            _ => {
                self.error(
                    node.pos,
                    format!("{what} should be an amount like \"14.90\", not {}", node.describe()),
                    None,
                );
                return None;
            }
        };
        match Money::parse(text) {
            Ok(m) => Some(m),
            Err(e) => {
                self.error(
                    node.pos,
                    format!("{what} `{text}` is not a valid price: {e}"),
                    Some("write euros with two decimals, like \"14.90\" or \"14,90\"".into()),
                );
                None
            }
        }
    }

    /// A whole number ≥ 0.
    pub fn count(&mut self, node: &Node, what: &str) -> Option<u32> {
        let parsed = match &node.value {
            Value::Number(s) => s.parse::<u32>().ok(),
            Value::Str(s) => s.trim().parse::<u32>().ok(),
            _ => None,
        };
        if parsed.is_none() {
            let shown = match &node.value {
                Value::Number(s) | Value::Str(s) => format!("`{s}`"),
                _ => node.describe().to_string(),
            };
            // The stock's own advice only where it applies.
            let hint =
                (what == "stock").then(|| "leave it out for made-to-order products; 0 means sold out".to_string());
            self.error(
                node.pos,
                format!("{what} should be a whole number of 0 or more, not {shown}"),
                hint,
            );
        }
        parsed
    }

    pub fn date(&mut self, node: &Node, what: &str) -> Option<Date> {
        let text = match &node.value {
            Value::Str(s) => s.trim(),
            _ => "",
        };
        let date = Date::parse(text);
        if date.is_none() {
            self.error(node.pos, format!("{what} should be a date like 2026-12-24"), None);
        }
        date
    }

    pub fn slug(&mut self, node: &Node, what: &str) -> Option<Slug> {
        let text = self.text(node, what)?;
        match Slug::parse(&text) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(
                    node.pos,
                    format!("{what} `{text}` is not a valid slug: {e}"),
                    slug_hint(&text),
                );
                None
            }
        }
    }

    /// A list; a single value is read as a list of one, which is what people mean.
    pub fn list<'n>(&mut self, node: &'n Node, what: &str) -> Vec<&'n Node> {
        match &node.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Map(_) => {
                self.error(
                    node.pos,
                    format!("{what} should be a list (lines starting with `- `)"),
                    None,
                );
                Vec::new()
            }
            _ => vec![node],
        }
    }

    /// `yes`/`no` (`true`/`false`); anything else is an error with `hint`.
    pub fn yes_no(&mut self, node: &Node, what: &str, hint: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.error(node.pos, format!("{what} is yes or no"), Some(hint.to_string()));
                None
            }
        }
    }

    /// A non-empty list of ISO 3166-1 alpha-2 codes, as Stripe's `allowed_countries` takes them.
    pub fn country_codes(&mut self, node: &Node, what: &str) -> Vec<String> {
        let mut codes = Vec::new();
        for item in self.list(node, what) {
            let Some(code) = self.text(item, "a country") else {
                continue;
            };
            if chalet_types::catalogue::is_country_code(&code) {
                codes.push(code);
            } else {
                self.error(
                    item.pos,
                    format!("`{code}` is not a country code"),
                    Some(format!(
                        "use two capital letters (ISO 3166-1), e.g. `{what}: [BE, NL, FR]`"
                    )),
                );
            }
        }
        if codes.is_empty() {
            self.error(
                node.pos,
                format!("{what} names no country"),
                Some(format!("name at least one, e.g. `{what}: [BE]`")),
            );
        }
        codes
    }

    /// A list of short texts (tags, allergens).
    pub fn text_list(&mut self, fields: &Fields, name: &str, what: &str) -> Vec<String> {
        let Some(node) = fields.get(name) else {
            return Vec::new();
        };
        self.list(node, what)
            .into_iter()
            .filter_map(|n| self.text(n, what))
            .collect()
    }
}

/// "did you mean `la-cire-d-anais`?" for a name that is not a slug.
pub fn slug_hint(text: &str) -> Option<String> {
    let fixed = chalet_types::slugify(text);
    (!fixed.is_empty() && fixed != text).then(|| format!("did you mean `{fixed}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_str(text: &str) -> (Option<Node>, Diagnostics) {
        let file = SourceFile::new("f.yaml", "f.yaml", text.to_string());
        let mut diags = Diagnostics::default();
        let node = parse(&file, text, Embed::default(), &mut diags);
        (node, diags)
    }

    #[test]
    fn numbers_keep_their_digits() {
        let (node, _) = parse_str("price: 14.90\nother: 3\n");
        let Some(Node {
            value: Value::Map(m), ..
        }) = node
        else {
            panic!("a map")
        };
        assert_eq!(m[0].1.value, Value::Number("14.90".into()));
        assert_eq!(m[0].1.pos, Pos { line: 1, col: 8 });
        assert_eq!(m[1].0.pos, Pos { line: 2, col: 1 });
    }

    #[test]
    fn syntax_errors_have_positions() {
        let (node, diags) = parse_str("a: 1\nb: [1, 2\n");
        assert!(node.is_none());
        let d = diags.iter().next().expect("one diagnostic");
        assert!(d.line >= 2, "{d}");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "[\\PC\n:\\-\\[\\]{}\"' ]{0,80}") {
            let _ = parse_str(&s);
        }
    }
}
