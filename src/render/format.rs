//! Numbers, dates and codes written for people: `€5,419.49`, `¥1,500`, `BHD 12.345`,
//! `31 October 2026`, "ad server discrepancy". JSON and CSV keep the machine form; only
//! pages use these.

use crate::model::{CauseCode, Currency, Period, amount_text};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// The minus sign pages use (U+2212), which screen readers read as "minus".
const MINUS: char = '\u{2212}';

const MONTHS: [&str; 12] = [
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
];

/// The symbol a currency is written with, when one is unambiguous for readers of an
/// invoice in that currency; otherwise its ISO code and a space (`CHF 1,200.00`).
fn symbol(currency: Currency) -> Option<&'static str> {
    match currency.code() {
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "USD" => Some("$"),
        "JPY" => Some("¥"),
        "INR" => Some("₹"),
        "KRW" => Some("₩"),
        _ => None,
    }
}

/// `1234567.891` → `1,234,567.891`: groups of three in the integer part, the decimals
/// as given, and a minus sign for negatives.
fn grouped(text: &str) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let mut out = String::with_capacity(text.len() + text.len() / 3 + 2);
    if negative {
        out.push(MINUS);
    }
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

fn with_currency(number: String, currency: Currency) -> String {
    let (sign, magnitude) = match number.strip_prefix(MINUS) {
        Some(rest) => (MINUS.to_string(), rest),
        None => (String::new(), number.as_str()),
    };
    match symbol(currency) {
        Some(symbol) => format!("{sign}{symbol}{magnitude}"),
        None => format!("{sign}{} {magnitude}", currency.code()),
    }
}

/// A rounded amount: exactly the currency's minor units (`€5,419.49`, `¥1,500`).
pub fn money(amount: Decimal, currency: Currency) -> String {
    with_currency(grouped(&amount_text(amount, currency)), currency)
}

/// An exact amount or rate in a currency: at least the minor units, more when the
/// value has them (`€0.0045`, `€4.50`).
pub fn money_exact(amount: Decimal, currency: Currency) -> String {
    with_currency(
        grouped(&exact_text(amount, currency.minor_units())),
        currency,
    )
}

/// A count, quantity or rate without currency: grouped, trailing zeros dropped.
pub fn number(value: Decimal) -> String {
    grouped(&exact_text(value, 0))
}

fn exact_text(value: Decimal, min_decimals: u32) -> String {
    let mut value = value.normalize();
    if value.scale() < min_decimals {
        value.rescale(min_decimals);
    }
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    value.to_string()
}

/// Days sales outstanding to one decimal, as account.json writes it: `35.9 days`.
pub fn days(dso: Decimal) -> String {
    let mut one = dso;
    one.rescale(1);
    format!("{one} days")
}

/// `2026-10-31` → `31 October 2026`.
pub fn date(date: NaiveDate) -> String {
    format!(
        "{} {} {}",
        date.day(),
        MONTHS[date.month0() as usize],
        date.year()
    )
}

/// `2026-10-31` → `31 Oct`, for dense tables whose period is in the heading.
pub fn day(date: NaiveDate) -> String {
    format!("{} {}", date.day(), &MONTHS[date.month0() as usize][..3])
}

/// `2026-10` → `October 2026`.
pub fn period(period: Period) -> String {
    format!(
        "{} {}",
        MONTHS[period.first().month0() as usize],
        period.year()
    )
}

/// A variance cause in plain words.
pub fn cause(cause: CauseCode) -> &'static str {
    match cause {
        CauseCode::AdServerDiscrepancy => "Ad server discrepancy",
        CauseCode::TrackingOutage => "Tracking outage",
        CauseCode::CreativeDelay => "Creative delay",
        CauseCode::MakeGood => "Make-good",
        CauseCode::FxMovement => "Exchange-rate movement",
        CauseCode::OverDelivery => "Over-delivery",
        CauseCode::UnderDelivery => "Under-delivery",
        CauseCode::PriorPeriodChange => "Change from the previous period",
        CauseCode::ChangeOrder => "Change order",
        CauseCode::DataRestatement => "Data restatement",
        CauseCode::Other => "Other",
    }
}

/// A document status of account.json in plain words.
pub fn status(status: &str) -> &'static str {
    match status {
        "paid" => "Paid",
        "overdue" => "Overdue",
        "partially_paid" => "Partly paid",
        "open" => "Open",
        "credit_note" => "Credit note",
        "pass" => "Pass",
        "warn" => "Needs attention",
        "fail" => "Fail",
        _ => "Unknown",
    }
}

/// An aging bucket in words: `1-30` → `1–30 days overdue`.
pub fn bucket(bucket: &str) -> String {
    format!("{} days overdue", bucket.replace('-', "–"))
}

/// A key fingerprint (64 hex digits) in groups of four, as people compare it by eye.
pub fn fingerprint(key_id: &str) -> Vec<String> {
    key_id
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn c(code: &str) -> Currency {
        Currency::from_code(code).unwrap()
    }

    #[test]
    fn amounts_as_the_issue_writes_them() {
        assert_eq!(money(d("5419.49"), c("EUR")), "€5,419.49");
        assert_eq!(money(d("1500"), c("JPY")), "¥1,500");
        assert_eq!(money(d("12.345"), c("BHD")), "BHD 12.345");
        assert_eq!(money(d("-120"), c("GBP")), "−£120.00");
        assert_eq!(money(d("1234567.5"), c("CHF")), "CHF 1,234,567.50");
        assert_eq!(money(d("-0"), c("USD")), "$0.00");
        assert_eq!(money(d("999"), c("USD")), "$999.00");
    }

    #[test]
    fn exact_amounts_keep_their_precision() {
        assert_eq!(money_exact(d("4.5"), c("EUR")), "€4.50");
        assert_eq!(money_exact(d("0.0045"), c("EUR")), "€0.0045");
        assert_eq!(money_exact(d("5419.48950"), c("EUR")), "€5,419.4895");
        assert_eq!(number(d("1204331")), "1,204,331");
        assert_eq!(number(d("-37.50")), "−37.5");
        assert_eq!(number(d("100")), "100");
    }

    #[test]
    fn dates_are_written_out() {
        let day31 = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        assert_eq!(date(day31), "31 October 2026");
        assert_eq!(day(day31), "31 Oct");
        assert_eq!(period(Period::of(day31)), "October 2026");
    }
}
