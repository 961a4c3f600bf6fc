//! Delivery rows by campaign, and the units a line counts on each day (rules.md §2).

use crate::model::{
    CampaignDay, DeliveryRow, Exact, Metric, Overflow, PeriodData, RowClass, SourceConfig,
    SourceKind,
};
use chrono::NaiveDate;
use hashbrown::HashMap;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The mapped, non-duplicate rows of each campaign in a period, as indices into the
/// period's rows, in file order.
pub struct CampaignRows<'a> {
    pub data: &'a PeriodData,
    /// By the campaign's index in the rows' campaigns ([`RowClass::Mapped`]).
    by_campaign: Vec<Vec<u32>>,
    /// Each campaign's index in the rows' campaigns.
    ids: HashMap<&'a str, u32>,
}

impl<'a> CampaignRows<'a> {
    pub fn of(data: &'a PeriodData) -> CampaignRows<'a> {
        let campaigns = data.rows.campaigns();
        let mut by_campaign = vec![Vec::new(); campaigns.len()];
        for (index, row) in data.rows.indexed() {
            if let RowClass::Mapped { campaign } = row.class {
                by_campaign[campaign as usize].push(index);
            }
        }
        let ids = (campaigns.iter())
            .zip(0u32..)
            .map(|(campaign, id)| (&**campaign, id))
            .collect();
        CampaignRows {
            data,
            by_campaign,
            ids,
        }
    }

    /// The campaign's index in the rows' campaigns, if a row is mapped to it.
    pub fn id(&self, campaign: &str) -> Option<u32> {
        self.ids.get(campaign).copied()
    }

    /// The sums of the campaign's rows, day by day ([`Rows::days`](crate::model::Rows::days)).
    pub fn days(&self, campaign: &str) -> &'a [CampaignDay] {
        match self.ids.get(campaign) {
            Some(id) => self.data.rows.days(*id),
            None => &[],
        }
    }

    pub fn rows(&self, campaign: &str) -> &[u32] {
        self.id(campaign)
            .map_or(&[], |id| self.by_campaign[id as usize].as_slice())
    }

    pub fn row(&self, index: u32) -> &'a DeliveryRow {
        &self.data.rows[index]
    }
}

/// What the two kinds of source counted on one day; `None`: no row reported the metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayUnits {
    pub basis: Option<Decimal>,
    pub other: Option<Decimal>,
}

/// `basis_units(d)` and `other_units(d)` of a metric for a campaign's sums on the days
/// `covered`, per day.
pub fn units_by_day(
    sums: &[CampaignDay],
    covered: impl Fn(NaiveDate) -> bool,
    metric: Metric,
    basis: SourceKind,
    sources: &[SourceConfig],
) -> Result<BTreeMap<NaiveDate, DayUnits>, Overflow> {
    let mut days: BTreeMap<NaiveDate, DayUnits> = BTreeMap::new();
    for sum in sums.iter().filter(|sum| covered(sum.date)) {
        let Some(value) = sum.totals.get(metric)? else {
            continue;
        };
        let day = days.entry(sum.date).or_default();
        let slot = if sources[usize::from(sum.source)].kind == basis {
            &mut day.basis
        } else {
            &mut day.other
        };
        *slot = Some(slot.unwrap_or_default().plus(value)?);
    }
    Ok(days)
}
