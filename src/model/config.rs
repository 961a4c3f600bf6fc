//! The settings of `tallyseal.toml`, validated: the agency, invoice numbering and
//! rounding, tolerances, signing, and how each kind of raw export is read.

use super::Currency;
use globset::GlobMatcher;
use rust_decimal::Decimal;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub agency: Agency,
    pub invoice: InvoiceSettings,
    pub tolerances: Tolerances,
    /// `[signing] key_file`, relative to the project, as written.
    pub key_file: Option<PathBuf>,
    pub sources: Vec<SourceConfig>,
}

#[derive(Debug, Clone)]
pub struct Agency {
    pub name: String,
    pub address: Option<String>,
    pub country: Option<String>,
    pub tax_id: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InvoiceSettings {
    pub number_format: NumberFormat,
    pub first_number: u64,
    pub rounding: Rounding,
    pub reverse_charge_note: String,
    pub exempt_note: String,
}

/// How `round` resolves a midpoint (rules.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Midpoint away from zero.
    HalfUp,
    /// Midpoint to the even neighbour.
    HalfEven,
}

/// A parsed `number_format`: literal text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat(pub Vec<NumberPiece>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberPiece {
    Text(String),
    /// `{seq}` or `{seq:N}`: the running number, zero-padded to `width` digits.
    Seq {
        width: usize,
    },
    /// `{year}`: the issue date's year.
    Year,
    /// `{period}`: `YYYY-MM`.
    Period,
}

impl NumberFormat {
    /// The document number for sequence value `seq` issued in `period`.
    pub fn format(&self, seq: u64, period: super::Period) -> String {
        self.0
            .iter()
            .map(|piece| match piece {
                NumberPiece::Text(text) => text.clone(),
                NumberPiece::Seq { width } => format!("{seq:0width$}"),
                NumberPiece::Year => format!("{:04}", period.year()),
                NumberPiece::Period => period.to_string(),
            })
            .collect()
    }
}

/// Percent thresholds of rules.md §10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tolerances {
    pub discrepancy_pct: Decimal,
    pub prior_period_pct: Decimal,
    pub underdelivery_pct: Decimal,
    pub fx_movement_pct: Decimal,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            discrepancy_pct: Decimal::from(10),
            prior_period_pct: Decimal::from(50),
            underdelivery_pct: Decimal::from(10),
            fx_movement_pct: Decimal::from(5),
        }
    }
}

/// One `[[source]]` table: one kind of raw export.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    /// The glob as written, relative to each period folder.
    pub files: String,
    pub matcher: GlobMatcher,
    pub kind: super::SourceKind,
    pub skip_rows: u64,
    pub footer_prefix: Option<String>,
    pub thousands_separator: Option<char>,
    pub grain: Vec<String>,
    pub columns: SourceColumns,
    /// The currency of every spend cell, when the files have no currency column.
    pub currency: Option<Currency>,
}

/// Header names of the canonical fields in one source's files.
#[derive(Debug, Clone)]
pub struct SourceColumns {
    pub campaign: String,
    pub date: String,
    pub impressions: Option<String>,
    pub clicks: Option<String>,
    pub conversions: Option<String>,
    pub spend: Option<String>,
    pub currency: Option<String>,
}
