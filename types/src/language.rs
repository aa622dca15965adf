//! The languages a market speaks, and the few language rules the shared types need (number
//! formatting for [`crate::Money`], short labels the checkout function sends to Stripe). Longer
//! texts live in the theme's translation files; dates and locales in the generator's `i18n`.

use serde::{Deserialize, Serialize};

/// Languages the market, its theme and its e-mails can speak. The wire name (`"fr"`) is the
/// ISO 639-1 code, in `market.yaml`, `catalogue.json` and the script's configuration alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Fr,
    Nl,
    De,
    En,
}

impl Language {
    pub const ALL: [Language; 4] = [Language::Fr, Language::Nl, Language::De, Language::En];

    pub fn parse(text: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.code() == text)
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::Fr => "fr",
            Language::Nl => "nl",
            Language::De => "de",
            Language::En => "en",
        }
    }

    /// Every code, for hints: `fr, nl, de, en`.
    pub fn codes() -> String {
        Language::ALL.map(Language::code).join(", ")
    }

    /// How amounts are written: thousands separator, decimal separator, and where `€` goes.
    pub fn number_style(self) -> NumberStyle {
        let style = |group, decimal, symbol| NumberStyle { group, decimal, symbol };
        match self {
            // French typography: narrow no-break space between thousands.
            Language::Fr => style("\u{202f}", ",", SymbolAt::After),
            Language::Nl => style(".", ",", SymbolAt::BeforeSpaced),
            Language::De => style(".", ",", SymbolAt::After),
            Language::En => style(",", ".", SymbolAt::Before),
        }
    }

    /// Labels of the lines the checkout function adds to a Checkout Session, which Stripe shows
    /// to the shopper as they are.
    pub fn labels(self) -> Labels {
        let (shipping, registration) = match self {
            Language::Fr => ("Livraison", "Inscription"),
            Language::Nl => ("Verzending", "Inschrijving"),
            Language::De => ("Versand", "Anmeldung"),
            Language::En => ("Shipping", "Registration"),
        };
        Labels { shipping, registration }
    }
}

/// Where the currency symbol stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolAt {
    /// `14,90 €`
    After,
    /// `€14.90`
    Before,
    /// `€ 14,90`
    BeforeSpaced,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumberStyle {
    pub group: &'static str,
    pub decimal: &'static str,
    pub symbol: SymbolAt,
}

/// Words the function writes into a payment page, per language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Labels {
    pub shipping: &'static str,
    pub registration: &'static str,
}

/// The currencies a market can sell in. Only the euro today; an enum so that no code writes
/// `"EUR"` by hand and a second currency is a compile error everywhere it matters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    #[default]
    #[serde(rename = "EUR")]
    Eur,
}

impl Currency {
    pub const ALL: [Currency; 1] = [Currency::Eur];

    /// ISO 4217, upper case, as in `market.yaml` and schema.org.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Eur => "€",
        }
    }

    pub fn parse(text: &str) -> Option<Currency> {
        Currency::ALL.into_iter().find(|c| c.code() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_the_codes() {
        for l in Language::ALL {
            let json = serde_json::to_string(&l).expect("serialises");
            assert_eq!(json, format!("\"{}\"", l.code()));
            assert_eq!(Language::parse(l.code()), Some(l));
        }
        assert_eq!(Language::parse("FR"), None);
        assert_eq!(serde_json::to_string(&Currency::Eur).expect("serialises"), "\"EUR\"");
        assert_eq!(Currency::parse("EUR"), Some(Currency::Eur));
        assert_eq!(Currency::parse("USD"), None);
    }
}
