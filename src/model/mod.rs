//! The domain: what an agency's project says, as typed values. Every other module
//! works on these types; this module depends on nothing else of ours.

mod calendar;
mod client;
mod config;
mod contract;
mod delivery;
mod money;
mod project;
mod records;
mod totals;

pub use calendar::Period;
pub use client::{Client, TaxTreatment};
pub use config::{
    Agency, Config, InvoiceSettings, NumberFormat, NumberPiece, Rounding, SourceColumns,
    SourceConfig, Tolerances,
};
pub use contract::{Basis, Line, PricingModel};
pub use delivery::{
    DeliveryRow, ExportFile, Grain, GrainKey, Interned, LeafClass, Metric, Metrics, RowClass,
    RowOrigin, Rows, SourceKind,
};
pub use money::{Currency, Exact, Overflow, amount_text, sum};
pub use project::{Crosswalk, PeriodData, Project};
pub use records::{
    Adjustment, AdjustmentKind, Approval, ApprovalStatus, CauseCode, ChangeOrder, ClientScope,
    Evidence, Explanation, FxRate, ManualStatus, ManualStep, Milestone, Payment, TimesheetEntry,
};
pub use totals::{CampaignDay, DayKey, Totals};
