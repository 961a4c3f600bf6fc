//! What delivery rows add up to, day by day: billing reads these sums, never a row's
//! metrics, so that a period of tens of millions of rows holds its rows' provenance and
//! not their numbers (a row's metrics are read back from its leaf when shown, as the
//! line CSVs do). Rows are summed while their export is read, per [`DayKey`]; an
//! identical duplicate's metrics are taken out again once it is found.

use super::{Currency, Metric, Metrics, Overflow};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The rows one sum holds: one source's rows of one source campaign id, day and
/// currency. The id is an index into its [`super::Rows`]' table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayKey {
    pub source: u16,
    pub source_campaign_id: u32,
    pub date: NaiveDate,
    pub currency: Option<Currency>,
}

/// The metrics of some rows, summed. A metric no row reported stays "not reported", not
/// zero; a sum too large for a decimal is remembered as such, and reported when used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// In the order of [`Metric`].
    sums: [Decimal; 4],
    /// One bit per metric: some row reported it.
    reported: u8,
    /// One bit per metric: its sum overflowed.
    overflowed: u8,
    /// The index of the first row (in its [`super::Rows`]) that reported spend; `u32::MAX`
    /// for none. Media-percent lines convert currencies in the order rows first use them.
    first_spend: u32,
}

impl Default for Totals {
    fn default() -> Self {
        Totals {
            sums: [Decimal::ZERO; 4],
            reported: 0,
            overflowed: 0,
            first_spend: u32::MAX,
        }
    }
}

const METRICS: [Metric; 4] = [
    Metric::Impressions,
    Metric::Clicks,
    Metric::Conversions,
    Metric::Spend,
];

impl Totals {
    /// Adds the metrics of the row at `index`.
    pub fn add(&mut self, metrics: &Metrics, index: u32) {
        for metric in METRICS {
            let Some(value) = metrics.get(metric) else {
                continue;
            };
            let (slot, bit) = (metric as usize, 1 << metric as u8);
            self.reported |= bit;
            match self.sums[slot].checked_add(value) {
                Some(sum) => self.sums[slot] = sum,
                None => self.overflowed |= bit,
            }
        }
        if metrics.spend().is_some() {
            self.first_spend = self.first_spend.min(index);
        }
    }

    /// Takes out an identical duplicate's metrics. What is reported does not change: the
    /// row it repeats has the same metrics and stays in.
    pub fn remove(&mut self, metrics: &Metrics) {
        for metric in METRICS {
            if let Some(value) = metrics.get(metric) {
                let slot = metric as usize;
                self.sums[slot] = self.sums[slot]
                    .checked_sub(value)
                    .unwrap_or(self.sums[slot]);
            }
        }
    }

    /// Adds another's sums, whose rows are numbered from `offset` on here.
    pub fn merge(&mut self, other: &Totals, offset: u32) {
        for metric in METRICS {
            let (slot, bit) = (metric as usize, 1 << metric as u8);
            self.reported |= other.reported & bit;
            self.overflowed |= other.overflowed & bit;
            match self.sums[slot].checked_add(other.sums[slot]) {
                Some(sum) => self.sums[slot] = sum,
                None => self.overflowed |= bit,
            }
        }
        if other.first_spend != u32::MAX {
            self.first_spend = self.first_spend.min(other.first_spend + offset);
        }
    }

    /// The sum of a metric; `None` when no row reported it.
    pub fn get(&self, metric: Metric) -> Result<Option<Decimal>, Overflow> {
        let bit = 1 << metric as u8;
        if self.overflowed & bit != 0 {
            return Err(Overflow);
        }
        Ok((self.reported & bit != 0).then_some(self.sums[metric as usize]))
    }

    /// Whether some metric's sum overflowed.
    pub fn overflowed(&self) -> bool {
        self.overflowed != 0
    }

    /// The index of the first row that reported spend, if one did.
    pub fn first_spend(&self) -> Option<u32> {
        (self.first_spend != u32::MAX).then_some(self.first_spend)
    }
}

/// The sums of one mapped campaign's rows of one source, day and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignDay {
    /// Index into [`super::Rows::campaigns`].
    pub campaign: u32,
    pub date: NaiveDate,
    pub source: u16,
    pub currency: Option<Currency>,
    pub totals: Totals,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn totals_add_what_was_reported_and_take_out_duplicates() {
        let mut totals = Totals::default();
        assert_eq!(totals.get(Metric::Spend), Ok(None));
        assert_eq!(totals.first_spend(), None);
        totals.add(&Metrics::new(Some(10), None, None, None), 3);
        let row = Metrics::new(Some(5), Some(0), None, Some(d("1.25")));
        totals.add(&row, 7);
        totals.add(&row, 9);
        assert_eq!(totals.get(Metric::Impressions), Ok(Some(d("20"))));
        assert_eq!(totals.get(Metric::Clicks), Ok(Some(Decimal::ZERO)));
        assert_eq!(totals.get(Metric::Conversions), Ok(None), "not reported");
        assert_eq!(totals.get(Metric::Spend), Ok(Some(d("2.50"))));
        assert_eq!(totals.first_spend(), Some(7), "the first row with spend");
        totals.remove(&row);
        assert_eq!(totals.get(Metric::Spend), Ok(Some(d("1.25"))));
        assert_eq!(totals.get(Metric::Clicks), Ok(Some(Decimal::ZERO)));

        let mut other = Totals::default();
        other.add(&Metrics::new(None, None, Some(d("0.5")), Some(d("1"))), 2);
        totals.merge(&other, 100);
        assert_eq!(totals.get(Metric::Conversions), Ok(Some(d("0.5"))));
        assert_eq!(totals.get(Metric::Spend), Ok(Some(d("2.25"))));
        assert_eq!(totals.first_spend(), Some(7), "102 comes later");
    }

    #[test]
    fn a_sum_too_large_is_an_overflow_when_used() {
        let mut totals = Totals::default();
        let max = Metrics::new(None, None, None, Some(Decimal::MAX));
        totals.add(&max, 0);
        totals.add(&Metrics::new(Some(1), None, None, None), 1);
        assert_eq!(totals.get(Metric::Spend), Ok(Some(Decimal::MAX)));
        totals.add(&max, 2);
        assert_eq!(totals.get(Metric::Spend), Err(Overflow));
        assert_eq!(totals.get(Metric::Impressions), Ok(Some(Decimal::ONE)));
    }
}
