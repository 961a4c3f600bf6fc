//! Booked lines of `contracts.csv`: what was sold, at which price, over which flight.

use super::{Currency, SourceKind};
use crate::error::Location;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// How a line is priced (rules.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PricingModel {
    Cpm,
    Cpc,
    Cpa,
    MediaPct,
    Flat,
    Hourly,
    Milestone,
}

impl PricingModel {
    pub const ALL: [PricingModel; 7] = [
        PricingModel::Cpm,
        PricingModel::Cpc,
        PricingModel::Cpa,
        PricingModel::MediaPct,
        PricingModel::Flat,
        PricingModel::Hourly,
        PricingModel::Milestone,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            PricingModel::Cpm => "cpm",
            PricingModel::Cpc => "cpc",
            PricingModel::Cpa => "cpa",
            PricingModel::MediaPct => "media_pct",
            PricingModel::Flat => "flat",
            PricingModel::Hourly => "hourly",
            PricingModel::Milestone => "milestone",
        }
    }

    /// Whether the line is billed from delivery rows of a campaign.
    pub fn needs_campaign(&self) -> bool {
        matches!(
            self,
            PricingModel::Cpm | PricingModel::Cpc | PricingModel::Cpa | PricingModel::MediaPct
        )
    }

    /// Whether the line is billed on counted units (and so has a `basis`).
    pub fn counts_units(&self) -> bool {
        matches!(
            self,
            PricingModel::Cpm | PricingModel::Cpc | PricingModel::Cpa
        )
    }
}

/// Which kind of source's counts a cpm/cpc/cpa line bills.
pub type Basis = SourceKind;

/// One row of `contracts.csv`: a booked insertion-order or statement-of-work line.
#[derive(Debug, Clone)]
pub struct Line {
    pub line_id: String,
    pub client_id: String,
    pub campaign: Option<String>,
    pub description: String,
    pub model: PricingModel,
    /// Absent only for milestone lines.
    pub rate: Option<Decimal>,
    pub currency: Currency,
    /// Cap on the total billed over the line's life, in `currency`; `None`: no cap.
    pub budget: Option<Decimal>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// For cpm/cpc/cpa lines; `None` for the others.
    pub basis: Option<Basis>,
    pub po_number: Option<String>,
    pub at: Location,
}
