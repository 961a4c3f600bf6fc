//! Values of CSV cells: identifiers, dates, decimals, currencies and the spec's enums,
//! each with what a user is told it should have been.

use crate::model::{AdjustmentKind, CauseCode, Currency, ManualStatus, PricingModel, SourceKind};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::str::FromStr;

/// A value a CSV cell holds. `parse` sees the cell trimmed and never empty.
pub trait Cell: Sized {
    /// What a valid cell looks like, for error messages.
    fn expected() -> String;
    fn parse(text: &str) -> Option<Self>;
}

/// `[A-Za-z0-9._-]`, 1 to 64 characters.
pub fn is_identifier(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The whole part and fraction of a number written as digits, optionally `.` and
/// digits (`0.50` is `0`, `50`; the fraction is empty without a `.`); `None` for any
/// other text.
pub(crate) fn unsigned_digits(text: &str) -> Option<(&str, &str)> {
    // A byte search: `split_once('.')` costs more on cells this short.
    let (whole, fraction) = match text.bytes().position(|b| b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, ""),
    };
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = !whole.is_empty() && plain(whole) && plain(fraction) && !text.ends_with('.');
    ok.then_some((whole, fraction))
}

/// A decimal written plainly: an optional `-`, digits, optionally `.` and digits.
/// No exponent, no `+`, no separators, no spaces.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned_digits(unsigned)?;
    // Up to 18 digits and no sign (a `-0` keeps its sign), the digits make the value
    // exactly, as `from_str` would: the common cell, tens of millions of them a month.
    if whole.len() + fraction.len() <= 18 && unsigned.len() == text.len() {
        let mantissa =
            (whole.bytes().chain(fraction.bytes())).fold(0i64, |n, b| n * 10 + i64::from(b - b'0'));
        return Some(Decimal::new(mantissa, fraction.len() as u32));
    }
    // rust_decimal rounds what does not fit in 28 digits; a rounded value is refused.
    Decimal::from_str(text)
        .ok()
        .filter(|d| d.scale() as usize == fraction.len())
}

/// An identifier cell.
pub struct Id(pub String);

impl Cell for Id {
    fn expected() -> String {
        "an identifier of letters, digits, '.', '_' or '-' (at most 64 characters)".into()
    }
    fn parse(text: &str) -> Option<Self> {
        is_identifier(text).then(|| Id(text.to_owned()))
    }
}

/// Free text (never empty when required).
impl Cell for String {
    fn expected() -> String {
        "a value".into()
    }
    fn parse(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
}

impl Cell for NaiveDate {
    fn expected() -> String {
        "a date YYYY-MM-DD".into()
    }
    fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        // Digits checked: read them directly (every row of every export has a date).
        let number = |digits: &[u8]| {
            digits
                .iter()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
        };
        shaped
            .then(|| {
                let year = i32::try_from(number(&b[..4])).ok()?;
                NaiveDate::from_ymd_opt(year, number(&b[5..7]), number(&b[8..10]))
            })
            .flatten()
    }
}

impl Cell for Currency {
    fn expected() -> String {
        "an ISO 4217 currency code such as EUR".into()
    }
    fn parse(text: &str) -> Option<Self> {
        Currency::from_code(text)
    }
}

/// Any decimal (a rate change, an FX rate...); sign rules are checked by the caller.
impl Cell for Decimal {
    fn expected() -> String {
        "a decimal number such as 12.50".into()
    }
    fn parse(text: &str) -> Option<Self> {
        parse_decimal(text)
    }
}

/// A decimal of zero or more.
pub struct NonNegative(pub Decimal);

impl Cell for NonNegative {
    fn expected() -> String {
        "a decimal number of 0 or more".into()
    }
    fn parse(text: &str) -> Option<Self> {
        parse_decimal(text)
            .filter(|d| !d.is_sign_negative() || d.is_zero())
            .map(NonNegative)
    }
}

/// A decimal above zero.
pub struct Positive(pub Decimal);

impl Cell for Positive {
    fn expected() -> String {
        "a decimal number above 0".into()
    }
    fn parse(text: &str) -> Option<Self> {
        parse_decimal(text)
            .filter(|d| *d > Decimal::ZERO)
            .map(Positive)
    }
}

/// A whole number of days.
impl Cell for u32 {
    fn expected() -> String {
        "a whole number of 0 or more".into()
    }
    fn parse(text: &str) -> Option<Self> {
        text.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse().ok())
            .flatten()
    }
}

/// An ISO 3166-1 alpha-2 country code.
pub struct Country(pub String);

impl Cell for Country {
    fn expected() -> String {
        "an ISO 3166-1 alpha-2 country code such as GB".into()
    }
    fn parse(text: &str) -> Option<Self> {
        (text.len() == 2 && text.bytes().all(|b| b.is_ascii_uppercase()))
            .then(|| Country(text.into()))
    }
}

/// Implements [`Cell`] for an enum spelled by fixed words.
macro_rules! word_cell {
    ($type:ty { $($word:literal => $value:expr),+ $(,)? }) => {
        impl Cell for $type {
            fn expected() -> String {
                let words: &[&str] = &[$($word),+];
                format!("one of {}", words.join(", "))
            }
            fn parse(text: &str) -> Option<Self> {
                match text {
                    $($word => Some($value),)+
                    _ => None,
                }
            }
        }
    };
}

word_cell!(PricingModel {
    "cpm" => PricingModel::Cpm, "cpc" => PricingModel::Cpc, "cpa" => PricingModel::Cpa,
    "media_pct" => PricingModel::MediaPct, "flat" => PricingModel::Flat,
    "hourly" => PricingModel::Hourly, "milestone" => PricingModel::Milestone,
});

word_cell!(SourceKind { "ad_server" => SourceKind::AdServer, "platform" => SourceKind::Platform });

word_cell!(AdjustmentKind {
    "credit" => AdjustmentKind::Credit, "make_good" => AdjustmentKind::MakeGood, "fee" => AdjustmentKind::Fee,
});

word_cell!(ManualStatus {
    "done" => ManualStatus::Done, "pending" => ManualStatus::Pending, "n/a" => ManualStatus::NotApplicable,
});

word_cell!(CauseCode {
    "ad_server_discrepancy" => CauseCode::AdServerDiscrepancy,
    "tracking_outage" => CauseCode::TrackingOutage,
    "creative_delay" => CauseCode::CreativeDelay,
    "make_good" => CauseCode::MakeGood,
    "fx_movement" => CauseCode::FxMovement,
    "over_delivery" => CauseCode::OverDelivery,
    "under_delivery" => CauseCode::UnderDelivery,
    "prior_period_change" => CauseCode::PriorPeriodChange,
    "change_order" => CauseCode::ChangeOrder,
    "data_restatement" => CauseCode::DataRestatement,
    "other" => CauseCode::Other,
});

/// `tax_treatment` of clients.csv, before its rate is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxKind {
    Standard,
    ReverseCharge,
    Exempt,
}

word_cell!(TaxKind {
    "standard" => TaxKind::Standard, "reverse_charge" => TaxKind::ReverseCharge, "exempt" => TaxKind::Exempt,
});

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whether its digits make it or `from_str` reads it, a decimal has the value,
        /// scale, sign and text `from_str` gives it.
        #[test]
        fn a_decimal_is_what_from_str_reads(text in "-?[0-9]{1,22}(\\.[0-9]{1,12})?") {
            let scale = text.split_once('.').map_or(0, |(_, f)| f.len());
            let read = Decimal::from_str(&text).ok().filter(|d| d.scale() as usize == scale);
            let shown = |d: Decimal| (d, d.scale(), d.is_sign_negative(), d.to_string());
            proptest::prop_assert_eq!(parse_decimal(&text).map(shown), read.map(shown));
        }
    }

    #[test]
    fn decimals_are_plain() {
        assert_eq!(parse_decimal("12.50").unwrap().to_string(), "12.50");
        assert_eq!(parse_decimal("-0.001").unwrap().to_string(), "-0.001");
        assert_eq!(parse_decimal("0012.50").unwrap().to_string(), "12.50");
        for bad in [
            "", "1,000", "1_000", "1e3", "+1", ".5", "5.", "1.2.3", " 1", "NaN", "١٢",
        ] {
            assert!(parse_decimal(bad).is_none(), "{bad:?}");
        }
        // More digits than a decimal holds is an error, not a rounding.
        assert!(parse_decimal("1.00000000000000000000000000001").is_none());
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("acme-display_2026.v2"));
        for bad in ["", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(
            <NaiveDate as Cell>::parse("2026-02-28"),
            NaiveDate::from_ymd_opt(2026, 2, 28)
        );
        assert_eq!(
            <NaiveDate as Cell>::parse("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        for bad in [
            "2026-02-30",
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            "2026-2-28",
            "28/02/2026",
            "+2026-02-28",
            "2026-02-28T00:00",
        ] {
            assert!(<NaiveDate as Cell>::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn words() {
        assert_eq!(
            <PricingModel as Cell>::parse("media_pct"),
            Some(PricingModel::MediaPct)
        );
        assert!(<PricingModel as Cell>::parse("CPM").is_none());
        assert!(<CauseCode as Cell>::expected().contains("tracking_outage"));
        assert_eq!(
            <ManualStatus as Cell>::parse("n/a"),
            Some(ManualStatus::NotApplicable)
        );
    }
}
