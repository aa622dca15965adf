//! Money as an exact number of euro cents. Never a float: `"14.90"`, `"14,90"` and the YAML
//! number `14.9` all become `1490` by reading their digits.

use crate::language::{Currency, Language, SymbolAt};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in cents (EUR incl. VAT). Serialises as the integer number of cents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(i64);

/// Why a price text was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MoneyError {
    Empty,
    Negative,
    /// More than two digits after the decimal separator.
    TooPrecise,
    /// Anything that is not digits with one optional `.` or `,`.
    Malformed,
    TooLarge,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MoneyError::Empty => "the amount is empty",
            MoneyError::Negative => "the amount is negative",
            MoneyError::TooPrecise => "the amount has more than two decimals",
            MoneyError::Malformed => "the amount is not a number of euros",
            MoneyError::TooLarge => "the amount is too large",
        })
    }
}

impl std::error::Error for MoneyError {}

/// The largest amount we accept anywhere: one million euros. Stripe's own limit is lower.
const MAX_CENTS: i64 = 100_000_000;

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_cents(cents: i64) -> Money {
        Money(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    /// Parses `"14.90"`, `"14,90"`, `"14"`, `"14.9"`, `" 14.90 "`, also with a trailing `€`.
    /// Thousands separators are refused: `"1.490,00"` is ambiguous in a Belgian market.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let t = text.trim();
        let t = t.strip_suffix('€').unwrap_or(t).trim_end();
        if t.is_empty() {
            return Err(MoneyError::Empty);
        }
        if t.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let t = t.strip_prefix('+').unwrap_or(t);
        let (whole, frac) = match t.find(['.', ',']) {
            Some(i) => (&t[..i], &t[i + 1..]),
            None => (t, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || (t.contains(['.', ',']) && frac.is_empty()) {
            return Err(MoneyError::Malformed);
        }
        if frac.len() > 2 {
            // "14.900" is still exact; anything with a non-zero third decimal is not a price.
            if frac[2..].bytes().any(|b| b != b'0') {
                return Err(MoneyError::TooPrecise);
            }
        }
        if whole.len() > 9 {
            return Err(MoneyError::TooLarge);
        }
        let euros: i64 = whole.parse().map_err(|_| MoneyError::Malformed)?;
        let mut cents = 0i64;
        for (i, b) in frac.bytes().take(2).enumerate() {
            cents += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
        }
        let total = euros * 100 + cents;
        if total > MAX_CENTS {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money(total))
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_mul(self, n: u32) -> Option<Money> {
        self.0.checked_mul(i64::from(n)).map(Money)
    }

    pub fn saturating_sub(self, other: Money) -> Money {
        Money((self.0 - other.0).max(0))
    }

    /// `"14.90"`: the canonical, locale-free text (used in data files and the README).
    pub fn to_decimal_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", self.0.abs() / 100, self.0.abs() % 100)
    }

    /// Formats for display in a language: `14,90 €` (fr, de), `€ 14,90` (nl) or `€14.90` (en),
    /// thousands grouped as the language does ([`Language::number_style`]).
    pub fn format(self, lang: Language) -> String {
        let euros = self.0.abs() / 100;
        let cents = self.0.abs() % 100;
        let sign = if self.0 < 0 { "-" } else { "" };
        let style = lang.number_style();
        let digits = euros.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push_str(style.group);
            }
            grouped.push(c);
        }
        let (decimal, symbol) = (style.decimal, Currency::Eur.symbol());
        match style.symbol {
            SymbolAt::Before => format!("{sign}{symbol}{grouped}{decimal}{cents:02}"),
            SymbolAt::BeforeSpaced => format!("{symbol}\u{a0}{sign}{grouped}{decimal}{cents:02}"),
            SymbolAt::After => format!("{sign}{grouped}{decimal}{cents:02}\u{a0}{symbol}"),
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_both_separators_and_integers() {
        assert_eq!(Money::parse("14.90"), Ok(Money(1490)));
        assert_eq!(Money::parse("14,90"), Ok(Money(1490)));
        assert_eq!(Money::parse("14.9"), Ok(Money(1490)));
        assert_eq!(Money::parse("14"), Ok(Money(1400)));
        assert_eq!(Money::parse(" 0.05 € "), Ok(Money(5)));
        assert_eq!(Money::parse("14.900"), Ok(Money(1490)));
    }

    #[test]
    fn refuses_what_is_not_a_price() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert_eq!(Money::parse("-1"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("14.999"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse("14."), Err(MoneyError::Malformed));
        assert_eq!(Money::parse(".90"), Err(MoneyError::Malformed));
        assert_eq!(Money::parse("1.490,00"), Err(MoneyError::Malformed));
        assert_eq!(Money::parse("douze"), Err(MoneyError::Malformed));
        assert_eq!(Money::parse("1e3"), Err(MoneyError::Malformed));
        assert_eq!(Money::parse("99999999999"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn formats_per_language() {
        assert_eq!(Money(1490).format(Language::Fr), "14,90\u{a0}€");
        assert_eq!(Money(123456).format(Language::Fr), "1\u{202f}234,56\u{a0}€");
        assert_eq!(Money(1490).format(Language::En), "€14.90");
        assert_eq!(Money(123456).format(Language::De), "1.234,56\u{a0}€");
        assert_eq!(Money(1490).format(Language::Nl), "€\u{a0}14,90");
    }

    proptest! {
        #[test]
        fn decimal_text_round_trips(cents in 0i64..=MAX_CENTS) {
            let m = Money(cents);
            prop_assert_eq!(Money::parse(&m.to_decimal_string()), Ok(m));
            prop_assert_eq!(Money::parse(&m.to_decimal_string().replace('.', ",")), Ok(m));
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = Money::parse(&s);
        }

        #[test]
        fn parse_agrees_with_integer_arithmetic(e in 0i64..1_000_000, c in 0i64..100) {
            prop_assert_eq!(Money::parse(&format!("{e}.{c:02}")), Ok(Money(e * 100 + c)));
        }
    }
}
