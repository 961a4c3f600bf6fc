//! Currencies: ISO 4217 codes with their minor units.

use super::Rounding;
use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;

/// An ISO 4217 currency that has minor units (so not gold, SDRs or the like).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// The currency of an upper-case ISO 4217 code, if it is one that money is billed in.
    pub fn from_code(code: &str) -> Option<Currency> {
        let currency = iso_currency::Currency::from_code(code)?;
        currency.exponent()?;
        Some(Currency(currency))
    }

    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Decimals of the currency's minor unit: JPY 0, EUR 2, BHD 3.
    pub fn minor_units(&self) -> u32 {
        self.0.exponent().map_or(0, u32::from)
    }

    /// Whether `amount` needs no more decimals than the minor unit has. Trailing zeros
    /// do not count: `1500.00` is a whole number of yen, `12.345` is not euros.
    pub fn fits(&self, amount: Decimal) -> bool {
        amount.normalize().scale() <= self.minor_units()
    }
}

impl Rounding {
    /// `round(x, C)` of rules.md: to the currency's minor units, midpoints resolved by
    /// this mode (never rust_decimal's default strategy).
    pub fn round(&self, amount: Decimal, currency: Currency) -> Decimal {
        self.round_dp(amount, currency.minor_units())
    }

    /// Rounds to `decimals` places, midpoints resolved by this mode.
    pub fn round_dp(&self, amount: Decimal, decimals: u32) -> Decimal {
        let strategy = match self {
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
        };
        amount.round_dp_with_strategy(decimals, strategy)
    }
}

/// A computation whose exact result does not fit in a decimal (28 digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a number too large to compute exactly")]
pub struct Overflow;

/// Exact arithmetic that reports overflow instead of panicking.
pub trait Exact: Sized {
    fn plus(self, other: Decimal) -> Result<Decimal, Overflow>;
    fn times(self, other: Decimal) -> Result<Decimal, Overflow>;
    fn over(self, other: Decimal) -> Result<Decimal, Overflow>;
}

impl Exact for Decimal {
    fn plus(self, other: Decimal) -> Result<Decimal, Overflow> {
        self.checked_add(other).ok_or(Overflow)
    }
    fn times(self, other: Decimal) -> Result<Decimal, Overflow> {
        self.checked_mul(other).ok_or(Overflow)
    }
    fn over(self, other: Decimal) -> Result<Decimal, Overflow> {
        self.checked_div(other).ok_or(Overflow)
    }
}

/// The exact sum of amounts.
pub fn sum(amounts: impl IntoIterator<Item = Decimal>) -> Result<Decimal, Overflow> {
    amounts.into_iter().try_fold(Decimal::ZERO, Exact::plus)
}

/// An amount as `invoice.json` writes it: exactly the currency's minor-unit decimals
/// (`"1234.50"`, `"-80.00"`, `"1500"` for JPY). The amount must already be rounded.
pub fn amount_text(amount: Decimal, currency: Currency) -> String {
    let mut fixed = amount;
    fixed.rescale(currency.minor_units());
    if fixed.is_zero() {
        fixed.set_sign_positive(true);
    }
    fixed.to_string()
}

impl PartialOrd for Currency {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Currency {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.code().cmp(other.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn minor_units_follow_iso_4217() {
        let units = |c: &str| Currency::from_code(c).unwrap().minor_units();
        assert_eq!(
            (units("EUR"), units("JPY"), units("BHD"), units("CHF")),
            (2, 0, 3, 2)
        );
        assert!(
            Currency::from_code("XAU").is_none(),
            "gold has no minor unit"
        );
        assert!(Currency::from_code("EURO").is_none());
        assert!(Currency::from_code("eur").is_none(), "codes are upper case");
    }

    #[test]
    fn rounding_modes_on_midpoints() {
        let d = |s| Decimal::from_str(s).unwrap();
        let eur = Currency::from_code("EUR").unwrap();
        let jpy = Currency::from_code("JPY").unwrap();
        let bhd = Currency::from_code("BHD").unwrap();
        // 2.345 EUR: half_up -> 2.35 (away from zero), half_even -> 2.34 (4 is even).
        assert_eq!(Rounding::HalfUp.round(d("2.345"), eur), d("2.35"));
        assert_eq!(Rounding::HalfEven.round(d("2.345"), eur), d("2.34"));
        assert_eq!(Rounding::HalfUp.round(d("-2.345"), eur), d("-2.35"));
        assert_eq!(Rounding::HalfEven.round(d("-2.355"), eur), d("-2.36"));
        // 1500.5 JPY: half_up 1501, half_even 1500; 1501.5: both 1502.
        assert_eq!(Rounding::HalfUp.round(d("1500.5"), jpy), d("1501"));
        assert_eq!(Rounding::HalfEven.round(d("1500.5"), jpy), d("1500"));
        assert_eq!(Rounding::HalfEven.round(d("1501.5"), jpy), d("1502"));
        // 0.0125 BHD to three decimals: half_up 0.013, half_even 0.012.
        assert_eq!(Rounding::HalfUp.round(d("0.0125"), bhd), d("0.013"));
        assert_eq!(Rounding::HalfEven.round(d("0.0125"), bhd), d("0.012"));
    }

    #[test]
    fn amount_text_has_exactly_the_minor_units() {
        let d = |s| Decimal::from_str(s).unwrap();
        let c = |s| Currency::from_code(s).unwrap();
        assert_eq!(amount_text(d("1234.5"), c("EUR")), "1234.50");
        assert_eq!(amount_text(d("-80"), c("EUR")), "-80.00");
        assert_eq!(amount_text(d("1500"), c("JPY")), "1500");
        assert_eq!(amount_text(d("1.2"), c("BHD")), "1.200");
        assert_eq!(amount_text(d("-0.00"), c("EUR")), "0.00");
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        assert_eq!(Decimal::MAX.plus(Decimal::ONE), Err(Overflow));
        assert_eq!(Decimal::MAX.times(Decimal::TWO), Err(Overflow));
        assert_eq!(Decimal::ONE.over(Decimal::ZERO), Err(Overflow));
        assert_eq!(sum([Decimal::ONE, Decimal::TWO]), Ok(Decimal::from(3)));
    }

    #[test]
    fn fits_counts_significant_decimals() {
        let jpy = Currency::from_code("JPY").unwrap();
        let eur = Currency::from_code("EUR").unwrap();
        let d = |s| Decimal::from_str(s).unwrap();
        assert!(jpy.fits(d("1500")) && jpy.fits(d("1500.00")));
        assert!(!jpy.fits(d("1500.5")));
        assert!(eur.fits(d("12.30")) && !eur.fits(d("12.345")));
    }
}
