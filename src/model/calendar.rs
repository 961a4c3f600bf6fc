//! Billing periods: calendar months named `YYYY-MM`.

use chrono::{Datelike, NaiveDate};
use std::fmt;

/// One calendar month, the unit of billing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    first: NaiveDate,
}

impl Period {
    /// Parses a period folder name, exactly `YYYY-MM`.
    pub fn parse(name: &str) -> Option<Period> {
        let bytes = name.as_bytes();
        let well_formed = bytes.len() == 7
            && bytes[4] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || b.is_ascii_digit());
        if !well_formed {
            return None;
        }
        let year = name[..4].parse().ok()?;
        let month = name[5..].parse().ok()?;
        NaiveDate::from_ymd_opt(year, month, 1).map(|first| Period { first })
    }

    /// The period holding `date`.
    pub fn of(date: NaiveDate) -> Period {
        Period {
            first: date.with_day(1).unwrap_or(date),
        }
    }

    pub fn first(&self) -> NaiveDate {
        self.first
    }

    pub fn last(&self) -> NaiveDate {
        let days = u32::from(self.first.num_days_in_month());
        self.first.with_day(days).unwrap_or(self.first)
    }

    /// Number of days in the month: `days(P)` of the rules.
    pub fn days(&self) -> u32 {
        self.last().day()
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        // Asked of every delivery row: the month's own fields, no calendar arithmetic.
        date.year() == self.first.year() && date.month() == self.first.month()
    }

    pub fn next(&self) -> Period {
        Period {
            first: self.first + chrono::Months::new(1),
        }
    }

    pub fn year(&self) -> i32 {
        self.first.year()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_yyyy_mm() {
        let p = Period::parse("2026-02").unwrap();
        assert_eq!(p.to_string(), "2026-02");
        assert_eq!(p.days(), 28);
        assert_eq!(Period::parse("2028-02").unwrap().days(), 29);
        assert_eq!(
            Period::parse("2026-12").unwrap().last().to_string(),
            "2026-12-31"
        );
        for bad in [
            "2026-13",
            "2026-1",
            "26-01",
            "2026_01",
            "2026-01-01",
            "",
            "2026-00",
        ] {
            assert!(Period::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn contains_its_days_only() {
        let p = Period::parse("2026-10").unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(p.contains(d("2026-10-01")) && p.contains(d("2026-10-31")));
        assert!(!p.contains(d("2026-09-30")) && !p.contains(d("2026-11-01")));
        assert!(!p.contains(d("2025-10-15")) && !p.contains(d("2027-10-15")));
        assert_eq!(Period::of(d("2026-10-17")), p);
    }
}
