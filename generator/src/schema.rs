//! `chalet schema`: JSON Schemas (draft-07, what the YAML language server of VS Code and other
//! editors reads) for `market.yaml`, `chalet.yaml` and a product's front matter, so an editor
//! completes field names and underlines mistakes while the artisan types.
//!
//! The field lists are the readers' own ([`crate::validate::fields`]); each value's shape is
//! written here beside the reader it mirrors (`text`, `money`, `count`…), and a test holds the
//! two to agreement on every fixture. Made for one market, the schema also knows its
//! categories, so a misspelt category is underlined too. What a schema cannot say (a photo
//! that does not exist, a voucher's validity against the opening date) stays `chalet check`'s.

use crate::model::Market;
use crate::validate::fields::*;
use chalet_types::legal::Allergen;
use chalet_types::{Currency, Kind, Language, Slug};
use serde_json::{Map, Value, json};

/// Where schemas are written by default (beside `content/`), and the `yaml-language-server`
/// header of a `chalet.yaml` pointing there from `content/chalets/<slug>/` (`market.yaml` takes
/// `$schema=../schemas/market.schema.json`).
pub const DEFAULT_DIR: &str = "schemas";
pub const CHALET_HEADER: &str = "# yaml-language-server: $schema=../../../schemas/chalet.schema.json";

/// The three schemas, by file name, for `market` (its categories) or for any market.
pub fn schemas(market: Option<&Market>) -> Vec<(&'static str, Value)> {
    let mut b = Builder::default();
    let out = vec![
        ("market.schema.json", b.market()),
        ("chalet.schema.json", b.chalet(market)),
        ("product.schema.json", b.product()),
    ];
    debug_assert!(b.missing.is_empty(), "fields without a schema: {:?}", b.missing);
    out
}

/// Writes the schemas into `dir`, each as pretty JSON with a final newline; returns the paths.
pub fn write(dir: &std::path::Path, market: Option<&Market>) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut written = Vec::new();
    for (name, schema) in schemas(market) {
        let path = dir.join(name);
        let mut text = serde_json::to_string_pretty(&schema).map_err(std::io::Error::other)?;
        text.push('\n');
        crate::fs::write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

#[derive(Default)]
struct Builder {
    /// Fields a reader accepts that no schema was written for (a test keeps this empty).
    missing: Vec<String>,
}

impl Builder {
    /// An object with exactly `fields` (the reader's list), `required` among them.
    fn object(
        &mut self,
        what: &str,
        fields: &[&str],
        required: &[&str],
        field: impl Fn(&str) -> Option<Value>,
    ) -> Value {
        let mut properties = Map::new();
        for name in fields {
            match field(name) {
                Some(schema) => {
                    properties.insert((*name).to_string(), schema);
                }
                None => self.missing.push(format!("{what}.{name}")),
            }
        }
        json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    }

    fn market(&mut self) -> Value {
        let organiser = self.object("organiser", ORGANISER_FIELDS, &["name"], |f| match f {
            "name" => Some(text()),
            "email" => Some(email()),
            _ => None,
        });
        let registration = self.object("registration", REGISTRATION_FIELDS, &["fee"], |f| match f {
            "fee" | "sponsor_reduction" => Some(money()),
            _ => None,
        });
        let category = self.object("category", CATEGORY_FIELDS, &["slug", "name"], |f| match f {
            "slug" => Some(slug()),
            "name" => Some(text()),
            _ => None,
        });
        let sponsor = self.object("sponsor", SPONSOR_FIELDS, &["name"], |f| match f {
            "name" | "logo" => Some(text()),
            "url" => Some(absolute_url()),
            _ => None,
        });
        let width = json!({ "type": "integer", "minimum": 16, "maximum": 8192 });
        let images = self.object("images", IMAGE_SETTINGS_FIELDS, &[], |f| match f {
            "widths" => Some(list_of(width.clone())),
            "fallback_width" => Some(width.clone()),
            "quality" => Some(json!({ "type": "integer", "minimum": 1, "maximum": 100 })),
            "max_megapixels" => Some(count()),
            _ => None,
        });
        let mut schema = self.object("market.yaml", MARKET_FIELDS, &["name", "base_url", "categories"], |f| {
            Some(match f {
                "name" | "tagline" => text(),
                "base_url" => site_url(),
                "language" => json!({ "enum": Language::ALL.map(Language::code) }),
                "currency" => json!({ "enum": Currency::ALL.map(Currency::code) }),
                "theme" => slug(),
                "checkout_url" => json!({ "anyOf": [
                    { "type": "string", "pattern": "^\\s*/([^/].*)?$" },
                    absolute_url(),
                ]}),
                "opens" | "closes" => date(),
                "organiser" => organiser.clone(),
                "registration" => registration.clone(),
                "shipping_countries" => countries(),
                "collect_phone" => yes_no(),
                "commission_percent" => json!({ "type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.01 }),
                "categories" => json!({ "type": "array", "items": category.clone(), "minItems": 1 }),
                "sponsors" => list_of(sponsor.clone()),
                "images" => images.clone(),
                _ => return None,
            })
        });
        describe(&mut schema, "market.yaml: the market's settings (chalet)");
        schema
    }

    fn chalet(&mut self, market: Option<&Market>) -> Value {
        let category = match market {
            Some(m) if !m.categories.is_empty() => {
                json!({ "enum": m.categories.iter().map(|c| c.slug.as_str()).collect::<Vec<_>>() })
            }
            _ => slug(),
        };
        let contact = self.object("contact", CONTACT_FIELDS, &[], |f| match f {
            "email" => Some(email()),
            "phone" => Some(text()),
            "website" => Some(absolute_url()),
            "daily_digest" => Some(yes_no()),
            _ => None,
        });
        let trader = self.object("trader", TRADER_FIELDS, &["legal_name", "address"], |f| match f {
            "legal_name" | "address" | "enterprise_number" => Some(text()),
            "kind" => Some(json!({ "enum": ["trader", "private"] })),
            _ => None,
        });
        let shipping = self.object("shipping", SHIPPING_FIELDS, &["price"], |f| match f {
            "price" | "free_from" => Some(money()),
            "countries" => Some(countries()),
            _ => None,
        });
        let fulfilment = self.object("fulfilment", FULFILMENT_FIELDS, &[], |f| match f {
            "pickup" => Some(text()),
            "shipping" => Some(shipping.clone()),
            _ => None,
        });
        let payouts = self.object("payouts", PAYOUTS_FIELDS, &["stripe_account"], |f| match f {
            "stripe_account" => Some(json!({ "type": "string", "pattern": "^acct_[A-Za-z0-9]{8,64}$" })),
            _ => None,
        });
        let mut schema = self.object(
            "chalet.yaml",
            CHALET_FIELDS,
            &["name", "artisan", "town", "category"],
            |f| {
                Some(match f {
                    "name" | "artisan" | "town" | "tagline" | "cover" | "logo" => text(),
                    "category" => category.clone(),
                    "contact" => contact.clone(),
                    "trader" => trader.clone(),
                    "fulfilment" => fulfilment.clone(),
                    "payouts" => payouts.clone(),
                    _ => return None,
                })
            },
        );
        describe(&mut schema, "chalet.yaml: an artisan's chalet (chalet)");
        schema
    }

    fn product(&mut self) -> Value {
        let image = self.object("image", IMAGE_FIELDS, &["src"], |f| match f {
            "src" | "alt" => Some(text()),
            _ => None,
        });
        let voucher = self.object("voucher", VOUCHER_FIELDS, &[], |f| match f {
            "valid_until" | "date" => Some(date()),
            "terms" => Some(text()),
            _ => None,
        });
        let personalisation = self.object("personalisation", PERSONALISATION_FIELDS, &["label"], |f| match f {
            "label" => Some(json!({ "allOf": [text(), { "maxLength": 80 }] })),
            "required" => Some(yes_no()),
            "max_length" => {
                Some(json!({ "type": "integer", "minimum": 1, "maximum": chalet_types::Personalisation::LONGEST }))
            }
            _ => None,
        });
        let mut schema = self.object("product", PRODUCT_FIELDS, &["name", "price"], |f| {
            Some(match f {
                "name" => text(),
                "price" => money(),
                "stock" => count(),
                "kind" => json!({ "enum": Kind::ALL }),
                "images" => list_of(json!({ "anyOf": [text(), image.clone()] })),
                "tags" => list_of(text()),
                "allergens" => list_of(allergen()),
                "voucher" => voucher.clone(),
                "personalisation" => json!({ "anyOf": [text(), personalisation.clone()] }),
                "net_quantity" => json!({ "type": "string", "pattern": "^\\s*[0-9]*([.,][0-9]{1,3})?\\s*([gG]|[kK][gG]|[mM][lL]|[cC][lL]|[lL])\\s*$" }),
                "perishable" | "sealed_hygiene" => yes_no(),
                _ => return None,
            })
        });
        describe(
            &mut schema,
            "the front matter of a product (chalet): products/<slug>.md",
        );
        schema
    }
}

fn describe(schema: &mut Value, title: &str) {
    if let Value::Object(map) = schema {
        map.insert("$schema".into(), json!("http://json-schema.org/draft-07/schema#"));
        map.insert("title".into(), json!(title));
    }
}

// ---------------------------------------------------------------- values, as `yaml::Reader` reads them

/// `Reader::text`: text that is not blank; a number or yes/no is taken as written.
fn text() -> Value {
    json!({ "type": ["string", "number", "boolean"], "pattern": "\\S" })
}

/// `Reader::money` (`Money::parse`): `"14.90"`, `"14,90"`, `14.90`, `"14 €"`; no thousands.
fn money() -> Value {
    json!({ "anyOf": [
        { "type": "string", "pattern": "^\\s*\\+?[0-9]{1,9}([.,][0-9]{1,2}0*)?\\s*€?\\s*$" },
        { "type": "number", "minimum": 0, "maximum": 999_999_999.99 },
    ]})
}

/// `Reader::count`: a whole number of 0 or more (as a number or as digits).
fn count() -> Value {
    json!({ "anyOf": [
        { "type": "integer", "minimum": 0, "maximum": u32::MAX },
        { "type": "string", "pattern": "^\\s*[0-9]{1,9}\\s*$" },
    ]})
}

/// `Reader::date`: `2026-12-24`.
fn date() -> Value {
    json!({ "type": "string", "pattern": "^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\\s*$" })
}

/// `Reader::slug` (`Slug::parse`).
fn slug() -> Value {
    json!({ "type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": Slug::MAX_LEN })
}

/// `Reader::yes_no`.
fn yes_no() -> Value {
    json!({ "type": "boolean" })
}

/// `Reader::list`: a list, or one value meaning a list of one.
fn list_of(item: Value) -> Value {
    json!({ "anyOf": [{ "type": "array", "items": item.clone() }, item] })
}

/// `Reader::country_codes`: ISO 3166-1 alpha-2, at least one.
fn countries() -> Value {
    let code = json!({ "type": "string", "pattern": "^\\s*[A-Z]{2}\\s*$" });
    json!({ "anyOf": [{ "type": "array", "items": code.clone(), "minItems": 1 }, code] })
}

/// `validate::market::email`.
fn email() -> Value {
    json!({ "type": "string", "pattern": "^\\s*[^@\\s]+@\\S*\\.\\S*\\s*$" })
}

/// `validate::market::absolute_url`.
fn absolute_url() -> Value {
    json!({ "type": "string", "pattern": "^\\s*https?://[^/\\s]\\S*\\s*$" })
}

/// `SiteUrl::parse`: http(s), a host name, no query or fragment.
fn site_url() -> Value {
    json!({ "type": "string", "pattern": "^\\s*[hH][tT][tT][pP][sS]?://[A-Za-z0-9.-]+(:[0-9]+)?(/[^?#\\s]*)?\\s*$" })
}

/// `Allergen::read`: any of the fourteen in any of the four languages, whatever the case, with
/// `oe` for `œ` — spelt out as a case-insensitive pattern (JSON Schema patterns have no flags).
fn allergen() -> Value {
    let mut alternatives: Vec<String> = Allergen::spellings().into_iter().map(any_case).collect();
    alternatives.sort();
    alternatives.dedup();
    json!({ "type": "string", "pattern": format!("^\\s*({})\\s*$", alternatives.join("|")) })
}

fn any_case(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        match c {
            'œ' | 'Œ' => out.push_str("(?:[œŒ]|[oO][eE])"),
            'ß' => out.push_str("(?:ß|ss|SS)"),
            c if c.is_alphabetic() => {
                let (lower, upper): (String, String) = (c.to_lowercase().collect(), c.to_uppercase().collect());
                if lower == upper {
                    out.push(c);
                } else {
                    out.push_str(&format!("[{lower}{upper}]"));
                }
            }
            ' ' => out.push(' '),
            c => out.push_str(&regex_escape(c)),
        }
    }
    out
}

fn regex_escape(c: char) -> String {
    if "\\^$.|?*+()[]{}/".contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_a_reader_accepts_has_a_schema() {
        let mut b = Builder::default();
        b.market();
        b.chalet(None);
        b.product();
        assert!(b.missing.is_empty(), "{:?}", b.missing);
    }

    #[test]
    fn allergen_pattern_is_case_and_ligature_blind() {
        let p = any_case("œufs");
        assert_eq!(p, "(?:[œŒ]|[oO][eE])[uU][fF][sS]");
    }
}
