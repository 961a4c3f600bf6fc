//! Raw exports and the delivery rows read from them, each with its provenance: the
//! export file, its line and its Merkle leaf (whose byte range the file keeps).

use super::Currency;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// Whether a source is the ad platform that sold the media or a third-party ad server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    Platform,
    AdServer,
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::Platform => "platform",
            SourceKind::AdServer => "ad_server",
        }
    }

    pub fn other(&self) -> SourceKind {
        match self {
            SourceKind::Platform => SourceKind::AdServer,
            SourceKind::AdServer => SourceKind::Platform,
        }
    }
}

/// A delivery metric of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Impressions,
    Clicks,
    Conversions,
    Spend,
}

/// The metrics of one delivery row; `None` means "not reported", which is not zero.
/// Impressions and clicks are whole numbers; conversions and spend may be fractional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    pub impressions: Option<Decimal>,
    pub clicks: Option<Decimal>,
    pub conversions: Option<Decimal>,
    pub spend: Option<Decimal>,
}

impl Metrics {
    pub fn get(&self, metric: Metric) -> Option<Decimal> {
        match metric {
            Metric::Impressions => self.impressions,
            Metric::Clicks => self.clicks,
            Metric::Conversions => self.conversions,
            Metric::Spend => self.spend,
        }
    }
}

/// Where a delivery row came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOrigin {
    /// Index of the export in its period's [`super::PeriodData::exports`].
    pub export: usize,
    /// 1-based line the row starts on.
    pub line: u64,
    /// Index of the row's leaf in the file's Merkle tree (seal.md); its bytes are
    /// [`ExportFile::leaf_range`].
    pub leaf: u64,
}

/// What became of a delivery row (inputs.md, raw exports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowClass {
    /// Its `(source, source_campaign_id)` maps to this universal campaign key.
    Mapped { campaign: Arc<str> },
    /// Not in the crosswalk: never billed, reported to the agency.
    Unmapped,
    /// Identical to the row at this index of the period's rows: counted once.
    Duplicate { of: usize },
}

/// The values of a row's `grain` columns, shared by every row that has them.
pub type Grain = Arc<[Arc<str>]>;

/// One data row of a raw export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// Index of the source in [`super::Config::sources`].
    pub source: usize,
    pub source_campaign_id: Arc<str>,
    pub date: NaiveDate,
    /// Values of the source's `grain` columns, in their order (empty without grain).
    pub grain: Grain,
    pub metrics: Metrics,
    /// The currency of `spend`, from the row or the source's fixed currency.
    pub currency: Option<Currency>,
    pub origin: RowOrigin,
    pub class: RowClass,
}

/// The role of one leaf (one line or CSV record) of an export file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeafClass {
    /// One of the `skip_rows` lines before the header.
    Preamble,
    Header,
    /// A delivery row (see [`RowClass`] for what became of it).
    Data,
    /// A total row (`footer_prefix`): kept in the hashed file, never delivery.
    Total,
    /// An empty line or a record whose every cell is empty: carries no data.
    Blank,
}

/// One raw export file, as hashed and split into leaves while it was read.
#[derive(Debug, Clone)]
pub struct ExportFile {
    /// Path relative to the project directory.
    pub path: PathBuf,
    /// Index of the source in [`super::Config::sources`].
    pub source: usize,
    pub size: u64,
    pub sha256: [u8; 32],
    /// End offset (exclusive) of each leaf; leaf `i` is `ends[i-1]..ends[i]`.
    pub leaf_ends: Vec<u64>,
    /// The role of each leaf, parallel to `leaf_ends`.
    pub leaf_classes: Vec<LeafClass>,
    /// The RFC 9162 tree over the leaves (seal.md).
    pub tree: crate::seal::merkle::Tree,
    /// The line of each total row, for reports.
    pub total_lines: Vec<u64>,
}

impl ExportFile {
    pub fn leaf_count(&self) -> usize {
        self.leaf_ends.len()
    }

    /// The byte range of leaf `index`.
    pub fn leaf_range(&self, index: usize) -> Range<u64> {
        let start = if index == 0 {
            0
        } else {
            self.leaf_ends[index - 1]
        };
        start..self.leaf_ends[index]
    }

    pub fn count(&self, class: LeafClass) -> usize {
        self.leaf_classes.iter().filter(|c| **c == class).count()
    }
}
