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

/// The delivery rows of a period (or of one export while it is read), indexed in file
/// order. Stored in chunks of [`Rows::CHUNK`] rows, so that neither growing nor
/// appending ever copies them all at once: tens of millions of rows would need their
/// size twice over for a moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    chunks: Vec<Vec<DeliveryRow>>,
    len: usize,
}

impl Rows {
    pub const CHUNK: usize = 1 << 16;

    pub fn new() -> Rows {
        Rows::default()
    }

    pub fn push(&mut self, row: DeliveryRow) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < Rows::CHUNK => chunk.push(row),
            _ => {
                let mut chunk = Vec::with_capacity(Rows::CHUNK);
                chunk.push(row);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// Moves every row of `other` to the end, freeing its chunks as they empty.
    pub fn append(&mut self, other: Rows) {
        for chunk in other.chunks {
            for row in chunk {
                self.push(row);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, index: usize) -> Option<&DeliveryRow> {
        self.chunks
            .get(index / Rows::CHUNK)?
            .get(index % Rows::CHUNK)
    }

    pub fn iter(&self) -> impl Iterator<Item = &DeliveryRow> {
        self.chunks.iter().flatten()
    }
}

impl std::ops::Index<usize> for Rows {
    type Output = DeliveryRow;

    fn index(&self, index: usize) -> &DeliveryRow {
        &self.chunks[index / Rows::CHUNK][index % Rows::CHUNK]
    }
}

impl std::ops::IndexMut<usize> for Rows {
    fn index_mut(&mut self, index: usize) -> &mut DeliveryRow {
        &mut self.chunks[index / Rows::CHUNK][index % Rows::CHUNK]
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = &'a DeliveryRow;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, Vec<DeliveryRow>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.chunks.iter().flatten()
    }
}

impl FromIterator<DeliveryRow> for Rows {
    fn from_iter<I: IntoIterator<Item = DeliveryRow>>(rows: I) -> Rows {
        let mut all = Rows::new();
        for row in rows {
            all.push(row);
        }
        all
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64) -> DeliveryRow {
        DeliveryRow {
            source: 0,
            source_campaign_id: "c".into(),
            date: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
            grain: Arc::from([]),
            metrics: Metrics::default(),
            currency: None,
            origin: RowOrigin {
                export: 0,
                line,
                leaf: line,
            },
            class: RowClass::Unmapped,
        }
    }

    #[test]
    fn rows_keep_file_order_across_chunks_and_appends() {
        // One chunk and a bit, then a second export of a few rows.
        let first: Rows = (0..Rows::CHUNK as u64 + 3).map(row).collect();
        let mut all = first.clone();
        all.append((0..5).map(|l| row(1_000_000 + l)).collect());
        assert_eq!(all.len(), Rows::CHUNK + 8);
        assert_eq!(all[Rows::CHUNK + 2].origin.line, Rows::CHUNK as u64 + 2);
        assert_eq!(all[Rows::CHUNK + 3].origin.line, 1_000_000);
        assert_eq!(all.get(Rows::CHUNK + 8), None);
        let lines: Vec<u64> = all.iter().map(|r| r.origin.line).collect();
        let expected: Vec<u64> = (0..Rows::CHUNK as u64 + 3)
            .chain(1_000_000..1_000_005)
            .collect();
        assert_eq!(lines, expected);
        all[5].class = RowClass::Duplicate { of: 1 };
        assert_eq!(
            (&all).into_iter().nth(5).unwrap().class,
            RowClass::Duplicate { of: 1 }
        );
    }
}
