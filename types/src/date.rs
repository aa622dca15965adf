//! A calendar day, written `YYYY-MM-DD` in content and JSON.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Parses `2026-12-24`; refuses impossible days such as `2026-02-30`.
    pub fn parse(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let s = text.get(r)?;
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if year < 1970 || day == 0 || day > days {
            return None;
        }
        Some(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// As people of `lang` write a day in a letter: `03/12/2026` (fr), `03-12-2026` (nl),
    /// `03.12.2026` (de), `2026-12-03` (en: unambiguous on both sides of the Atlantic).
    pub fn format(self, lang: crate::Language) -> String {
        let (d, m, y) = (self.day, self.month, self.year);
        match lang {
            crate::Language::Fr => format!("{d:02}/{m:02}/{y}"),
            crate::Language::Nl => format!("{d:02}-{m:02}-{y}"),
            crate::Language::De => format!("{d:02}.{m:02}.{y}"),
            crate::Language::En => self.to_string(),
        }
    }

    /// The UTC day of a Unix time (seconds).
    pub fn from_unix(seconds: i64) -> Date {
        let (year, month, day, ..) = utc(seconds);
        Date {
            year: year.clamp(1970, 9999) as u16,
            month: month as u8,
            day: day as u8,
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    pub fn days_since_epoch(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The same day a year later (29 February becomes 28 February): a voucher with no date of
    /// its own is valid twelve months from its purchase.
    pub fn a_year_later(self) -> Date {
        let year = self.year + 1;
        let day = if self.month == 2 && self.day == 29 {
            28
        } else {
            self.day
        };
        Date { year, day, ..self }
    }
}

/// UTC year, month, day, hour, minute, second of a Unix time (Howard Hinnant's
/// `civil_from_days`): no calendar crate for one conversion.
pub fn utc(seconds: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).ok_or_else(|| serde::de::Error::custom("a date looks like 2026-12-24"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_later_keeps_the_day_or_ends_february() {
        let d = |t| Date::parse(t).expect("a date");
        assert_eq!(d("2026-12-03").a_year_later(), d("2027-12-03"));
        assert_eq!(d("2028-02-29").a_year_later(), d("2029-02-28"));
    }

    #[test]
    fn days_since_epoch_is_the_inverse_of_from_unix() {
        for day in [0i64, 59, 365, 11_016, 20_788, 20_789, 24_000] {
            assert_eq!(Date::from_unix(day * 86_400).days_since_epoch(), day);
        }
        assert_eq!(Date::parse("2026-12-04").map(Date::days_since_epoch), Some(20_791));
    }

    #[test]
    fn parses_real_days_only() {
        assert_eq!(
            Date::parse("2026-12-24").map(|d| d.to_string()),
            Some("2026-12-24".into())
        );
        assert!(Date::parse("2028-02-29").is_some());
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-12-00",
            "26-12-24",
            "2026/12/24",
            "2026-1-024",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
    }
}
