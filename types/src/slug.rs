//! Slugs (folder and file names, URL segments) and SKUs (`<chalet-slug>/<product-slug>`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Lowercase ASCII letters, digits and single hyphens, not starting or ending with a hyphen,
/// at most 64 characters. Used as a folder name, a URL segment and half of a SKU.
///
/// Held as a `Box<str>`, not a `String`: a market keeps one per product, and a product's
/// `(slug, digest, images)` fits 48 bytes instead of 64.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(Box<str>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlugError {
    Empty,
    TooLong,
    /// Contains something other than `a-z`, `0-9` and `-`, or has leading, trailing or double hyphens.
    Invalid,
}

impl fmt::Display for SlugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SlugError::Empty => "a slug cannot be empty",
            SlugError::TooLong => "a slug has at most 64 characters",
            SlugError::Invalid => "a slug uses only lowercase letters a-z, digits and single hyphens",
        })
    }
}

impl std::error::Error for SlugError {}

impl Slug {
    pub const MAX_LEN: usize = 64;

    pub fn parse(text: &str) -> Result<Slug, SlugError> {
        if text.is_empty() {
            return Err(SlugError::Empty);
        }
        if text.len() > Self::MAX_LEN {
            return Err(SlugError::TooLong);
        }
        let ok_chars = text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_chars || text.starts_with('-') || text.ends_with('-') || text.contains("--") {
            return Err(SlugError::Invalid);
        }
        Ok(Slug(text.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Slug {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Checked where it lies in the input: no string made only to be copied.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Slug;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a slug")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Slug, E> {
                Slug::parse(s).map_err(E::custom)
            }
        }
        d.deserialize_str(Text)
    }
}

/// Lowercase ASCII, digits and single hyphens: "Crème brûlée & Cie" → "creme-brulee-cie".
/// Empty when nothing of the text can be spelt in a slug; otherwise a valid [`Slug`].
pub fn slugify(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    let mut out = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.truncate(Slug::MAX_LEN);
    out.trim_end_matches('-').to_string()
}

/// A product's stock-keeping unit: `<chalet-slug>/<product-slug>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sku {
    pub chalet: Slug,
    pub product: Slug,
}

impl Sku {
    pub fn new(chalet: Slug, product: Slug) -> Sku {
        Sku { chalet, product }
    }

    pub fn parse(text: &str) -> Option<Sku> {
        let (c, p) = text.split_once('/')?;
        Some(Sku {
            chalet: Slug::parse(c).ok()?,
            product: Slug::parse(p).ok()?,
        })
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.chalet, self.product)
    }
}

impl Serialize for Sku {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sku {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sku::parse(&s).ok_or_else(|| serde::de::Error::custom("a SKU looks like `chalet-slug/product-slug`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slugify_examples() {
        assert_eq!(slugify("Crème brûlée & Cie"), "creme-brulee-cie");
        assert_eq!(slugify("L'Atelier d'Anaïs"), "l-atelier-d-anais");
    }

    proptest! {
        #[test]
        fn slugify_output_is_a_slug_and_idempotent(s in "\\PC{0,40}") {
            let once = slugify(&s);
            if !once.is_empty() {
                prop_assert!(Slug::parse(&once).is_ok(), "{once:?}");
            }
            prop_assert_eq!(slugify(&once), once);
        }
    }

    #[test]
    fn accepts_and_refuses() {
        assert!(Slug::parse("la-boutique-2").is_ok());
        for bad in ["", "-a", "a-", "a--b", "Ab", "é", "a b", "a_b", "a/b"] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(Slug::parse(&"a".repeat(65)), Err(SlugError::TooLong));
    }

    #[test]
    fn sku_round_trips_through_json() {
        let sku = Sku::parse("cire-et-meche/bougie-sapin").expect("valid");
        let json = serde_json::to_string(&sku).expect("serialises");
        assert_eq!(json, "\"cire-et-meche/bougie-sapin\"");
        assert_eq!(serde_json::from_str::<Sku>(&json).expect("parses"), sku);
        assert!(serde_json::from_str::<Sku>("\"nope\"").is_err());
        assert!(Sku::parse("a/b/c").is_none());
    }
}
