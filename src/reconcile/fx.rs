//! The rates locked for a period (inputs.md, fx.csv): per pair, the row with the latest
//! `as_of` on or before the period's last day, among that period's rows. Direct pairs
//! only: no inverse or cross rate is ever derived.

use crate::model::{Currency, FxRate, PeriodData};

pub struct LockedRates<'a> {
    data: &'a PeriodData,
}

impl<'a> LockedRates<'a> {
    pub fn of(data: &'a PeriodData) -> LockedRates<'a> {
        LockedRates { data }
    }

    /// The locked rate of `from -> to`, if the period has one.
    pub fn get(&self, from: Currency, to: Currency) -> Option<&'a FxRate> {
        let last = self.data.period.last();
        self.data
            .fx
            .iter()
            .filter(|r| r.from == from && r.to == to && r.as_of <= last)
            .max_by_key(|r| r.as_of)
    }
}
