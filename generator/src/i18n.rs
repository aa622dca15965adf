//! Language rules the generator applies itself: dates written out, date ranges and Open Graph
//! locales. Money formatting is `chalet_types::Money::format` (shared with the function); UI
//! strings are the theme's translation files.

use chalet_types::{Date, Language};

/// `fr_BE`: Open Graph's locale.
pub fn og_locale(lang: Language) -> &'static str {
    match lang {
        Language::Fr => "fr_BE",
        Language::Nl => "nl_BE",
        Language::De => "de_BE",
        Language::En => "en_GB",
    }
}

const MONTHS: [[&str; 12]; 4] = [
    [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
    [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
];

fn month(d: Date, lang: Language) -> &'static str {
    let i = match lang {
        Language::Fr => 0,
        Language::Nl => 1,
        Language::De => 2,
        Language::En => 3,
    };
    MONTHS[i][usize::from(d.month) - 1]
}

/// `24 décembre 2026`, `24. Dezember 2026`, `24 December 2026`.
pub fn long_date(d: Date, lang: Language) -> String {
    match lang {
        Language::De => format!("{}. {} {}", d.day, month(d, lang), d.year),
        Language::Fr if d.day == 1 => format!("1er {} {}", month(d, lang), d.year),
        _ => format!("{} {} {}", d.day, month(d, lang), d.year),
    }
}

pub fn date_range(opens: Option<Date>, closes: Option<Date>, lang: Language) -> Option<String> {
    let words = match lang {
        Language::Fr => ("du", "au", "à partir du", "jusqu'au"),
        Language::Nl => ("van", "tot", "vanaf", "tot"),
        Language::De => ("vom", "bis", "ab", "bis"),
        Language::En => ("from", "to", "from", "until"),
    };
    match (opens, closes) {
        (Some(o), Some(c)) => Some(format!(
            "{} {} {} {}",
            words.0,
            long_date(o, lang),
            words.1,
            long_date(c, lang)
        )),
        (Some(o), None) => Some(format!("{} {}", words.2, long_date(o, lang))),
        (None, Some(c)) => Some(format!("{} {}", words.3, long_date(c, lang))),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_naturally() {
        let d = Date::parse("2026-12-01").expect("date");
        assert_eq!(long_date(d, Language::Fr), "1er décembre 2026");
        assert_eq!(long_date(d, Language::De), "1. Dezember 2026");
        let e = Date::parse("2026-12-24").expect("date");
        assert_eq!(
            date_range(Some(d), Some(e), Language::Nl).as_deref(),
            Some("van 1 december 2026 tot 24 december 2026")
        );
    }
}
