//! The product's vocabulary for people: pricing models, units, checklist steps and
//! adjustment kinds in plain words.

use crate::model::{AdjustmentKind, PricingModel, SourceKind};

/// What a line's quantity counts, and what its unit price is per.
pub struct Units {
    pub model: &'static str,
    /// Plural noun of the quantity (`impressions`); empty for media spend.
    pub quantity: &'static str,
    /// What the unit price is per (`per 1,000 impressions`).
    pub per: &'static str,
}

pub fn units(model: PricingModel) -> Units {
    let (model, quantity, per) = match model {
        PricingModel::Cpm => ("Cost per thousand impressions", "impressions", "per 1,000"),
        PricingModel::Cpc => ("Cost per click", "clicks", "per click"),
        PricingModel::Cpa => ("Cost per conversion", "conversions", "per conversion"),
        PricingModel::MediaPct => ("Percent of media spend", "", "of media spend"),
        PricingModel::Flat => ("Monthly fee", "days", "per month"),
        PricingModel::Hourly => ("Hourly", "hours", "per hour"),
        PricingModel::Milestone => ("Milestones", "milestones", ""),
    };
    Units {
        model,
        quantity,
        per,
    }
}

pub fn source_kind(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Platform => "ad platform",
        SourceKind::AdServer => "ad server",
    }
}

pub fn adjustment(kind: AdjustmentKind) -> &'static str {
    match kind {
        AdjustmentKind::Credit => "Credit",
        AdjustmentKind::MakeGood => "Make-good",
        AdjustmentKind::Fee => "Fee",
    }
}

/// The title of a checklist step; a manual step's id is its own text.
pub fn step(id: &str) -> &str {
    match id {
        "sources_sealed" => "Every source file hashed and listed",
        "rows_accounted" => "Every delivery row accounted for",
        "rows_mapped" => "Every delivery row mapped to a campaign",
        "no_duplicates" => "No row counted twice",
        "fx_locked" => "Exchange rates locked, with their source",
        "discrepancy_within_tolerance" => "Sources agree within tolerance",
        "variances_explained" => "Every variance explained",
        "approvals" => "Changes and adjustments approved",
        "milestones_accepted" => "Billed milestones accepted",
        "invoice_arithmetic" => "Invoice arithmetic re-adds",
        "payments_applied" => "Payments applied",
        other => other,
    }
}
