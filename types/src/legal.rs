//! What Belgian and EU law asks an online market to say, as typed values: the seller's enterprise
//! number (KBO/BCE, checked with its mod-97 digits), the fourteen allergens of Regulation
//! 1169/2011 Annex II, net quantities for unit prices (Code of Economic Law book VI), and the
//! right of withdrawal with its exemptions (Directive 2011/83/EU art. 16, CDE art. VI.53).

use crate::{Language, Money};
use serde::{Deserialize, Serialize};

/// Why an enterprise number is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnterpriseNumberError {
    /// Not ten digits starting with 0 or 1 (dots, spaces and a `BE` prefix are fine).
    Shape,
    /// The last two digits are not 97 minus the first eight modulo 97: `expected` are.
    CheckDigits { expected: String },
}

/// A Belgian enterprise number (KBO/BCE), written `0123.456.749`: ten digits, the first 0 or 1,
/// the last two equal to 97 − (the first eight mod 97) (the KBO's "checksum 97", as the Flemish
/// government's integration notes describe it). `BE0123456749` and spaces are accepted.
pub fn enterprise_number(text: &str) -> Result<String, EnterpriseNumberError> {
    let raw = text.trim();
    let raw = raw.strip_prefix("BE").or_else(|| raw.strip_prefix("be")).unwrap_or(raw);
    let digits: String = raw.chars().filter(|c| !matches!(c, '.' | ' ' | '-')).collect();
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(&digits[..1], "0" | "1") {
        return Err(EnterpriseNumberError::Shape);
    }
    let body: u64 = digits[..8].parse().map_err(|_| EnterpriseNumberError::Shape)?;
    let check: u64 = digits[8..].parse().map_err(|_| EnterpriseNumberError::Shape)?;
    let expected = 97 - body % 97;
    if check != expected {
        return Err(EnterpriseNumberError::CheckDigits {
            expected: format!("{expected:02}"),
        });
    }
    Ok(format!("{}.{}.{}", &digits[..4], &digits[4..7], &digits[7..]))
}

/// Another EU country's VAT number, by its published format (the prefix and the shape of what
/// follows; no check digits): `FR12345678901`, `NL123456789B01`, `DE123456789`, `LU12345678`.
pub fn eu_vat_number(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !matches!(c, '.' | ' ' | '-')).collect();
    let compact = compact.to_uppercase();
    let (country, rest) = compact.split_at_checked(2)?;
    let digits = |n: usize| rest.len() == n && rest.bytes().all(|b| b.is_ascii_digit());
    let ok = match country {
        "FR" => rest.len() == 11 && rest[2..].bytes().all(|b| b.is_ascii_digit()),
        "NL" => {
            rest.len() == 12
                && rest[..9].bytes().all(|b| b.is_ascii_digit())
                && &rest[9..10] == "B"
                && rest[10..].bytes().all(|b| b.is_ascii_digit())
        }
        "DE" => digits(9),
        "LU" => digits(8),
        "AT" => rest.len() == 9 && rest.starts_with('U') && rest[1..].bytes().all(|b| b.is_ascii_digit()),
        "ES" | "IT" | "PT" | "PL" | "SE" | "DK" | "FI" | "IE" | "CZ" | "SK" | "SI" | "HU" | "HR" | "RO" | "BG"
        | "EE" | "LV" | "LT" | "MT" | "CY" | "EL" => {
            (8..=12).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        _ => false,
    };
    ok.then_some(compact)
}

crate::wire_enum! {
    /// The fourteen allergens of Regulation (EU) 1169/2011, Annex II, which food information must
    /// emphasise (art. 21).
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Allergen {
        Gluten = "gluten",
        Crustaceans = "crustaceans",
        Eggs = "eggs",
        Fish = "fish",
        Peanuts = "peanuts",
        Soybeans = "soybeans",
        Milk = "milk",
        Nuts = "nuts",
        Celery = "celery",
        Mustard = "mustard",
        Sesame = "sesame",
        Sulphites = "sulphites",
        Lupin = "lupin",
        Molluscs = "molluscs",
    }
}

impl Allergen {
    /// Its name on a label, as the regulation's language versions write it (short form).
    pub fn name(self, lang: Language) -> &'static str {
        let [fr, nl, de, en] = self.names();
        match lang {
            Language::Fr => fr,
            Language::Nl => nl,
            Language::De => de,
            Language::En => en,
        }
    }

    fn names(self) -> [&'static str; 4] {
        match self {
            Allergen::Gluten => ["gluten", "gluten", "Gluten", "gluten"],
            Allergen::Crustaceans => ["crustacés", "schaaldieren", "Krebstiere", "crustaceans"],
            Allergen::Eggs => ["œufs", "eieren", "Eier", "eggs"],
            Allergen::Fish => ["poisson", "vis", "Fisch", "fish"],
            Allergen::Peanuts => ["arachides", "aardnoten", "Erdnüsse", "peanuts"],
            Allergen::Soybeans => ["soja", "soja", "Soja", "soybeans"],
            Allergen::Milk => ["lait", "melk", "Milch", "milk"],
            Allergen::Nuts => ["fruits à coque", "noten", "Schalenfrüchte", "nuts"],
            Allergen::Celery => ["céleri", "selderij", "Sellerie", "celery"],
            Allergen::Mustard => ["moutarde", "mosterd", "Senf", "mustard"],
            Allergen::Sesame => ["sésame", "sesamzaad", "Sesam", "sesame"],
            Allergen::Sulphites => ["sulfites", "sulfieten", "Sulfite", "sulphites"],
            Allergen::Lupin => ["lupin", "lupine", "Lupinen", "lupin"],
            Allergen::Molluscs => ["mollusques", "weekdieren", "Weichtiere", "molluscs"],
        }
    }

    /// From its key or its name in any of the four languages, ignoring case; plain `oeufs` for
    /// `œufs` too.
    pub fn read(text: &str) -> Option<Allergen> {
        let wanted = fold(text);
        Allergen::ALL
            .iter()
            .copied()
            .find(|a| fold(a.as_str()) == wanted || a.names().iter().any(|n| fold(n) == wanted))
    }

    /// Every spelling [`Allergen::read`] takes, for "did you mean".
    pub fn spellings() -> Vec<&'static str> {
        Allergen::ALL
            .iter()
            .flat_map(|a| std::iter::once(a.as_str()).chain(a.names()))
            .collect()
    }
}

/// Lower case, `œ` as `oe`, outer spaces gone: how allergen names are compared.
fn fold(text: &str) -> String {
    text.trim().to_lowercase().replace('œ', "oe").replace('ß', "ss")
}

/// A food product's net quantity, in grams or millilitres, as written on its label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetQuantity {
    /// In grams (mass) or millilitres (volume).
    pub amount: u32,
    pub volume: bool,
}

impl NetQuantity {
    /// `"250 g"`, `"1,5 kg"`, `"75 cl"`, `"500 ml"`, `"1 l"`: a positive number and a unit of g,
    /// kg, ml, cl or l. Amounts finer than a gram or a millilitre are refused.
    pub fn parse(text: &str) -> Option<NetQuantity> {
        let text = text.trim().replace(',', ".");
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, unit) = text.split_at(split);
        let (factor, volume) = match unit.trim().to_lowercase().as_str() {
            "g" => (1, false),
            "kg" => (1000, false),
            "ml" => (1, true),
            "cl" => (10, true),
            "l" => (1000, true),
            _ => return None,
        };
        // Exact decimal arithmetic: "1.5" kg is 1500 g, never 1499.
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && frac.is_empty() || frac.len() > 3 {
            return None;
        }
        let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
        let frac_value: u64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
        let scaled = whole.checked_mul(1000)? + frac_value * 10u64.pow(3 - frac.len() as u32);
        if !(scaled % 1000 * factor).is_multiple_of(1000) {
            return None;
        }
        let amount = scaled.checked_mul(factor)? / 1000;
        (amount > 0 && amount <= u64::from(u32::MAX)).then_some(NetQuantity {
            amount: amount as u32,
            volume,
        })
    }

    /// The price per kilogram or per litre, rounded to the cent (half up), and its unit.
    pub fn unit_price(self, price: Money) -> (Money, &'static str) {
        let per = (i128::from(price.cents()) * 1000 * 2 + i128::from(self.amount)) / (2 * i128::from(self.amount));
        (Money::from_cents(per as i64), if self.volume { "l" } else { "kg" })
    }
}

crate::wire_enum! {
    /// Why a product has no right of withdrawal (CDE art. VI.53; Directive 2011/83/EU art. 16).
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum WithdrawalExemption {
        /// Made to the shopper's specifications or clearly personalised (16 c).
        Personalised = "personalised",
        /// Liable to deteriorate or expire rapidly (16 d).
        Perishable = "perishable",
        /// Sealed goods not suitable for return for health or hygiene reasons once unsealed (16 e).
        SealedHygiene = "sealed_hygiene",
        /// Catering services for a specific date (16 l): a restaurant voucher for one evening.
        DatedService = "dated_service",
        /// Sold by a private person, not a trader: consumer law, and so the right, does not apply.
        PrivateSeller = "private_seller",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_numbers_check_their_mod_97_digits() {
        // 0123.456.7xx: 97 − (1234567 mod 97) = 97 − 48 = 49.
        assert_eq!(enterprise_number("0123.456.749").as_deref(), Ok("0123.456.749"));
        assert_eq!(enterprise_number("BE 0123 456 749").as_deref(), Ok("0123.456.749"));
        // Published examples: the Flemish government's checksum note and Sage X3's manual.
        assert_eq!(enterprise_number("0566.988.259").as_deref(), Ok("0566.988.259"));
        assert_eq!(enterprise_number("BE0419.618.535").as_deref(), Ok("0419.618.535"));
        assert_eq!(
            enterprise_number("0123.456.748"),
            Err(EnterpriseNumberError::CheckDigits { expected: "49".into() })
        );
        for bad in ["123.456.749", "2123.456.749", "0123.456.74A", ""] {
            assert_eq!(enterprise_number(bad), Err(EnterpriseNumberError::Shape), "{bad}");
        }
    }

    #[test]
    fn eu_vat_numbers_by_format() {
        assert_eq!(eu_vat_number("FR 12 345678901").as_deref(), Some("FR12345678901"));
        assert_eq!(eu_vat_number("NL123456789B01").as_deref(), Some("NL123456789B01"));
        assert_eq!(eu_vat_number("DE12345678"), None);
        assert_eq!(eu_vat_number("US123456789"), None);
    }

    #[test]
    fn allergens_read_in_any_language_and_print_in_one() {
        assert_eq!(Allergen::read("Lait"), Some(Allergen::Milk));
        assert_eq!(Allergen::read("oeufs"), Some(Allergen::Eggs));
        assert_eq!(Allergen::read("Schalenfrüchte"), Some(Allergen::Nuts));
        assert_eq!(Allergen::read("nuts"), Some(Allergen::Nuts));
        assert_eq!(Allergen::read("laitt"), None);
        assert_eq!(Allergen::Nuts.name(Language::Fr), "fruits à coque");
        assert_eq!(Allergen::ALL.len(), 14);
    }

    #[test]
    fn unit_prices_per_kilogram_and_litre() {
        let q = NetQuantity::parse("250 g").expect("250 g");
        assert_eq!(q.unit_price(Money::from_cents(690)), (Money::from_cents(2760), "kg"));
        let l = NetQuantity::parse("75 cl").expect("75 cl");
        assert_eq!(
            l,
            NetQuantity {
                amount: 750,
                volume: true
            }
        );
        assert_eq!(l.unit_price(Money::from_cents(2490)), (Money::from_cents(3320), "l"));
        assert_eq!(NetQuantity::parse("1,5 kg").map(|q| q.amount), Some(1500));
        assert_eq!(NetQuantity::parse("0.33 l").map(|q| q.amount), Some(330));
        for bad in ["", "g", "250", "250 lb", "0 g", "-1 g", "0.5 g"] {
            assert_eq!(NetQuantity::parse(bad), None, "{bad}");
        }
    }
}
