//! The per-period records of a project: FX rates, change orders, milestones,
//! timesheets, adjustments, variance explanations, payments and manual checklist steps.

use super::{Currency, Period};
use crate::error::Location;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::path::PathBuf;

/// `1 from = rate to`, locked by `source` as of a date (`fx.csv`).
#[derive(Debug, Clone)]
pub struct FxRate {
    pub as_of: NaiveDate,
    pub from: Currency,
    pub to: Currency,
    pub rate: Decimal,
    pub source: String,
    pub at: Location,
}

/// Who asked for an item and who approved it, when (rules.md §1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub requested_by: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    Approved,
    /// Not (yet) approved by the period's last day: not applied, shown as pending.
    Pending,
    /// The approver is the requester: not applied, a checklist failure.
    SeparationOfDuties,
}

impl Approval {
    /// The item's status when the period ending on `period_last` is computed.
    pub fn status(&self, period_last: NaiveDate) -> ApprovalStatus {
        match (&self.approved_by, self.approved_at) {
            (Some(approver), _) if *approver == self.requested_by => {
                ApprovalStatus::SeparationOfDuties
            }
            (Some(_), Some(at)) if at <= period_last => ApprovalStatus::Approved,
            _ => ApprovalStatus::Pending,
        }
    }
}

/// An amendment to a booked line from `effective_from` on (`change_orders.csv`).
#[derive(Debug, Clone)]
pub struct ChangeOrder {
    pub change_id: String,
    pub line_id: String,
    pub effective_from: NaiveDate,
    pub rate: Option<Decimal>,
    pub budget: Option<Decimal>,
    pub end: Option<NaiveDate>,
    pub approval: Approval,
    pub reference: Option<String>,
    pub at: Location,
}

/// A deliverable of a milestone line (`milestones.csv`).
#[derive(Debug, Clone)]
pub struct Milestone {
    pub line_id: String,
    pub milestone_id: String,
    pub description: String,
    pub amount: Decimal,
    pub accepted_on: Option<NaiveDate>,
    pub accepted_by: Option<String>,
    pub acceptance_ref: Option<String>,
    pub at: Location,
}

/// Hours on an hourly line (`timesheets.csv`).
#[derive(Debug, Clone)]
pub struct TimesheetEntry {
    pub line_id: String,
    pub date: NaiveDate,
    pub person: String,
    pub hours: Decimal,
    pub description: Option<String>,
    pub at: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdjustmentKind {
    Credit,
    MakeGood,
    Fee,
}

impl AdjustmentKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            AdjustmentKind::Credit => "credit",
            AdjustmentKind::MakeGood => "make_good",
            AdjustmentKind::Fee => "fee",
        }
    }
}

/// The shared taxonomy of variance causes (inputs.md, variances.csv).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CauseCode {
    AdServerDiscrepancy,
    TrackingOutage,
    CreativeDelay,
    MakeGood,
    FxMovement,
    OverDelivery,
    UnderDelivery,
    PriorPeriodChange,
    ChangeOrder,
    DataRestatement,
    Other,
}

impl CauseCode {
    pub const ALL: [CauseCode; 11] = [
        CauseCode::AdServerDiscrepancy,
        CauseCode::TrackingOutage,
        CauseCode::CreativeDelay,
        CauseCode::MakeGood,
        CauseCode::FxMovement,
        CauseCode::OverDelivery,
        CauseCode::UnderDelivery,
        CauseCode::PriorPeriodChange,
        CauseCode::ChangeOrder,
        CauseCode::DataRestatement,
        CauseCode::Other,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            CauseCode::AdServerDiscrepancy => "ad_server_discrepancy",
            CauseCode::TrackingOutage => "tracking_outage",
            CauseCode::CreativeDelay => "creative_delay",
            CauseCode::MakeGood => "make_good",
            CauseCode::FxMovement => "fx_movement",
            CauseCode::OverDelivery => "over_delivery",
            CauseCode::UnderDelivery => "under_delivery",
            CauseCode::PriorPeriodChange => "prior_period_change",
            CauseCode::ChangeOrder => "change_order",
            CauseCode::DataRestatement => "data_restatement",
            CauseCode::Other => "other",
        }
    }
}

/// Where the evidence of a record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A file under the period's `attachments/` folder, relative to it.
    Attachment(PathBuf),
    /// An `https://` URL.
    Url(String),
}

/// A credit, make-good or fee on a client's invoice (`adjustments.csv`).
#[derive(Debug, Clone)]
pub struct Adjustment {
    pub adjustment_id: String,
    pub client_id: String,
    pub line_id: Option<String>,
    pub kind: AdjustmentKind,
    /// Positive, in the client's invoice currency.
    pub amount: Decimal,
    pub currency: Currency,
    pub reason: CauseCode,
    pub description: Option<String>,
    pub approval: Approval,
    pub evidence: Option<Evidence>,
    /// The issued document this adjustment corrects.
    pub invoice_number: Option<String>,
    pub at: Location,
}

/// A human explanation of a line's variance (`variances.csv`).
#[derive(Debug, Clone)]
pub struct Explanation {
    pub client_id: String,
    pub line_id: String,
    pub cause: CauseCode,
    /// Markdown.
    pub explanation: String,
    pub evidence: Option<Evidence>,
    pub approved_by: Option<String>,
    pub at: Location,
}

/// Money received (`payments.csv`).
#[derive(Debug, Clone)]
pub struct Payment {
    pub payment_id: String,
    pub client_id: String,
    pub received_on: NaiveDate,
    pub amount: Decimal,
    pub currency: Currency,
    pub reference: Option<String>,
    pub invoice_number: Option<String>,
    pub at: Location,
}

/// Which clients a manual checklist step is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientScope {
    /// `*`: every client.
    Every,
    One(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualStatus {
    Done,
    Pending,
    NotApplicable,
}

/// A manual step of the reconciliation checklist (`checklist.csv`).
#[derive(Debug, Clone)]
pub struct ManualStep {
    pub client: ClientScope,
    pub step: String,
    pub owner: Option<String>,
    pub status: ManualStatus,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<NaiveDate>,
    pub evidence: Option<Evidence>,
    pub at: Location,
}

impl Period {
    /// Whether an approval is in force when this period is computed.
    pub fn approves(&self, approval: &Approval) -> bool {
        approval.status(self.last()) == ApprovalStatus::Approved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval(requested: &str, approved: Option<&str>, at: Option<&str>) -> Approval {
        Approval {
            requested_by: requested.into(),
            approved_by: approved.map(Into::into),
            approved_at: at.map(|d| d.parse().unwrap()),
        }
    }

    #[test]
    fn approval_follows_rules_section_1() {
        let oct = Period::parse("2026-10").unwrap();
        let last = oct.last();
        // Approved by someone else on or before 2026-10-31: in force.
        assert_eq!(
            approval("ann", Some("bob"), Some("2026-10-31")).status(last),
            ApprovalStatus::Approved
        );
        // Approved after the period's last day: pending in October.
        assert_eq!(
            approval("ann", Some("bob"), Some("2026-11-01")).status(last),
            ApprovalStatus::Pending
        );
        // No approver, or an approver without a date: pending.
        assert_eq!(
            approval("ann", None, None).status(last),
            ApprovalStatus::Pending
        );
        assert_eq!(
            approval("ann", Some("bob"), None).status(last),
            ApprovalStatus::Pending
        );
        // The requester approving their own item: a separation-of-duties violation.
        assert_eq!(
            approval("ann", Some("ann"), Some("2026-10-02")).status(last),
            ApprovalStatus::SeparationOfDuties
        );
        assert!(oct.approves(&approval("ann", Some("bob"), Some("2026-10-02"))));
    }
}
