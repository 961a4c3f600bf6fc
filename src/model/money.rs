//! Currencies: ISO 4217 codes with their minor units.

use rust_decimal::Decimal;
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
    fn fits_counts_significant_decimals() {
        let jpy = Currency::from_code("JPY").unwrap();
        let eur = Currency::from_code("EUR").unwrap();
        let d = |s| Decimal::from_str(s).unwrap();
        assert!(jpy.fits(d("1500")) && jpy.fits(d("1500.00")));
        assert!(!jpy.fits(d("1500.5")));
        assert!(eur.fits(d("12.30")) && !eur.fits(d("12.345")));
    }
}
