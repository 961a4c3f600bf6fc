//! Raw exports and the delivery rows read from them, each with its provenance: the
//! export file, its line and its Merkle leaf (whose byte range the file keeps).

use super::{CampaignDay, Currency, DayKey, Totals};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::hash::Hash;
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
    // The bit of each in [`Metrics`]' mask, and its slot there.
    Impressions = 0,
    Clicks = 1,
    Conversions = 2,
    Spend = 3,
}

/// The metrics of one delivery row; `None` means "not reported", which is not zero.
/// Impressions and clicks are whole numbers (up to `u64::MAX`); conversions and spend
/// may be fractional. Packed into 52 bytes, where four `Option<Decimal>` take 80: a
/// period holds tens of millions of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, packed(4))]
pub struct Metrics {
    /// Impressions, clicks; 0 where not reported.
    counts: [u64; 2],
    /// Conversions, spend; 0 where not reported.
    amounts: [Decimal; 2],
    /// One bit per metric reported, in the order of [`Metric`].
    reported: u8,
}

impl Metrics {
    pub fn new(
        impressions: Option<u64>,
        clicks: Option<u64>,
        conversions: Option<Decimal>,
        spend: Option<Decimal>,
    ) -> Metrics {
        let reported = [
            impressions.is_some(),
            clicks.is_some(),
            conversions.is_some(),
            spend.is_some(),
        ];
        Metrics {
            counts: [impressions.unwrap_or(0), clicks.unwrap_or(0)],
            amounts: [conversions.unwrap_or_default(), spend.unwrap_or_default()],
            reported: (reported.iter().enumerate())
                .map(|(bit, on)| u8::from(*on) << bit)
                .sum(),
        }
    }

    pub fn get(&self, metric: Metric) -> Option<Decimal> {
        let bit = metric as u8;
        if self.reported & (1 << bit) == 0 {
            return None;
        }
        // Copied out: a packed struct's fields are not referenced in place.
        let (counts, amounts) = (self.counts, self.amounts);
        Some(match metric {
            Metric::Impressions | Metric::Clicks => Decimal::from(counts[bit as usize]),
            Metric::Conversions | Metric::Spend => amounts[bit as usize - 2],
        })
    }

    pub fn impressions(&self) -> Option<Decimal> {
        self.get(Metric::Impressions)
    }

    pub fn clicks(&self) -> Option<Decimal> {
        self.get(Metric::Clicks)
    }

    pub fn conversions(&self) -> Option<Decimal> {
        self.get(Metric::Conversions)
    }

    pub fn spend(&self) -> Option<Decimal> {
        self.get(Metric::Spend)
    }
}

/// Where a delivery row came from ([`Rows::origin`]): its export, which [`Rows`] keeps
/// once per export since each export's rows are one range of the period's, and its
/// leaf, which the row keeps. Numbers are `u32`, which bounds an export at 4,294,967,295
/// lines (ingest refuses a longer one). Its line is not kept: [`ExportFile::line`]
/// finds it from the leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowOrigin {
    /// Index of the export in its period's [`super::PeriodData::exports`].
    pub export: u32,
    /// Index of the row's leaf in the file's Merkle tree (seal.md); its bytes are
    /// [`ExportFile::leaf_range`].
    pub leaf: u32,
}

impl RowOrigin {
    /// The export's index in its period's exports.
    pub fn export(&self) -> usize {
        self.export as usize
    }
}

/// What became of a delivery row (inputs.md, raw exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowClass {
    /// Its `(source, source_campaign_id)` maps to a universal campaign key: this index
    /// into its period's [`Rows::campaigns`] ([`Rows::campaign`] names it).
    Mapped { campaign: u32 },
    /// Not in the crosswalk: never billed, reported to the agency.
    Unmapped,
    /// Identical to the row at this index of the period's rows: counted once.
    Duplicate { of: u32 },
}

/// The values of a row's `grain` columns.
pub type Grain = Arc<[Arc<str>]>;

/// One data row of a raw export: 28 bytes. Its strings are indices into its [`Rows`]'
/// tables, where each is kept once; so rows are not compared with `==` (two rows of
/// different tables may hold the same indices for different strings). Its metrics are
/// not kept: [`Rows`] sums them by [`DayKey`], and they are read back from the row's
/// leaf where they are shown.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    /// Index of the row's leaf in its export's Merkle tree; [`Rows::origin`] names the
    /// export.
    pub leaf: u32,
    pub date: NaiveDate,
    pub class: RowClass,
    /// Its source campaign id ([`Rows::source_campaign_id`]).
    pub source_campaign_id: u32,
    /// Values of the source's `grain` columns, in their order, empty without grain
    /// ([`Rows::grain`]).
    pub grain: u32,
    /// Index of the source in [`super::Config::sources`] (at most 65,536 sources).
    pub source: u16,
    /// The currency of `spend`, from the row or the source's fixed currency.
    pub currency: Option<Currency>,
}

impl DeliveryRow {
    /// The sum this row's metrics are added to.
    pub fn day_key(&self) -> DayKey {
        DayKey {
            source: self.source,
            source_campaign_id: self.source_campaign_id,
            date: self.date,
            currency: self.currency,
        }
    }
}

/// Values kept once each, by index: a row holds the index, not the value (campaign ids
/// and grain values repeat on every day of an export).
#[derive(Debug, Clone)]
pub struct Interned<T: Hash + Eq> {
    values: Vec<T>,
    index: hashbrown::HashMap<T, u32>,
}

impl<T: Hash + Eq> Default for Interned<T> {
    fn default() -> Self {
        Interned {
            values: Vec::new(),
            index: hashbrown::HashMap::new(),
        }
    }
}

impl<T: Hash + Eq + Clone> Interned<T> {
    /// The index of the value `key` stands for, `make` of it added if it is new.
    /// There are never more values than rows, which a `u32` numbers.
    pub fn id<Q>(&mut self, key: &Q, make: impl FnOnce(&Q) -> T) -> u32
    where
        Q: Hash + hashbrown::Equivalent<T> + ?Sized,
    {
        if self.index.len() != self.values.len() {
            // Dropped by `forget_index`: made again.
            self.index = self.values.iter().cloned().zip(0..).collect();
        }
        if let Some(id) = self.index.get(key) {
            return *id;
        }
        let id = u32::try_from(self.values.len()).expect("no more values than rows");
        let value = make(key);
        self.values.push(value.clone());
        self.index.insert(value, id);
        id
    }

    /// Frees the lookup from value to index (tens of MB for a period's grain values) once
    /// no value is looked up for a while; [`Interned::id`] makes it again if it is.
    pub fn forget_index(&mut self) {
        self.index = hashbrown::HashMap::new();
    }

    pub fn get(&self, id: u32) -> &T {
        &self.values[id as usize]
    }

    pub fn values(&self) -> &[T] {
        &self.values
    }
}

/// A row's grain values as read, to find their [`Grain`] without building one.
#[derive(Hash)]
pub struct GrainKey<'a>(pub &'a [&'a str]);

impl hashbrown::Equivalent<Grain> for GrainKey<'_> {
    fn equivalent(&self, grain: &Grain) -> bool {
        self.0.len() == grain.len() && self.0.iter().zip(grain.iter()).all(|(a, b)| *a == &**b)
    }
}

/// The delivery rows of a period (or of one export while it is read), indexed in file
/// order, with the strings they share, the campaigns they are mapped to and the sums of
/// their metrics ([`Totals`]: by [`DayKey`] while rows are read, by campaign once they
/// are classified). Stored in
/// chunks of [`Rows::CHUNK`] rows, so that neither growing nor appending ever copies
/// them all at once: tens of millions of rows would need their size twice over for a
/// moment. At most [`Rows::MAX`] rows, so that a `u32` indexes them.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    chunks: Vec<Vec<DeliveryRow>>,
    len: usize,
    /// The source campaign ids of [`DeliveryRow::source_campaign_id`].
    pub ids: Interned<Arc<str>>,
    /// The grain values of [`DeliveryRow::grain`].
    pub grains: Interned<Grain>,
    /// The universal campaign keys of [`RowClass::Mapped`], each once.
    campaigns: Vec<Arc<str>>,
    /// The rows' metrics summed, until they are classified.
    totals: hashbrown::HashMap<DayKey, Totals>,
    /// Then the mapped rows' sums, by campaign and in the order rows first reported spend.
    days: Vec<CampaignDay>,
    /// The index of each export's first row, with the export's index ([`Rows::origin`]),
    /// in row order; empty while one export's rows are read (all of export 0).
    exports: Vec<(u32, u32)>,
}

impl Rows {
    pub const CHUNK: usize = 1 << 16;
    pub const MAX: usize = u32::MAX as usize;

    pub fn new() -> Rows {
        Rows::default()
    }

    /// Adds a row, its metrics to their sum.
    pub fn push(&mut self, row: DeliveryRow, metrics: &Metrics) {
        let index = u32::try_from(self.len).expect("no more rows than Rows::MAX");
        (self.totals.entry(row.day_key()).or_default()).add(metrics, index);
        self.push_row(row);
    }

    /// Moves every row of `other`, the rows of one export, to the end as rows of the
    /// export at index `export` (an export before it that could not be read has no
    /// index), its strings re-indexed into this one's tables and its sums added to
    /// these, freeing its chunks as they empty. Rows are appended before they are
    /// classified: `other`'s campaigns are not kept.
    pub fn append(&mut self, other: Rows, export: u32) {
        // Before any row, with no strings or sums: the export's rows, tables and sums
        // become these as they are.
        let unused = self.ids.values.is_empty() && self.grains.values.is_empty();
        if self.is_empty() && unused && self.totals.is_empty() {
            let exports = if other.is_empty() {
                vec![]
            } else {
                vec![(0, export)]
            };
            *self = Rows {
                exports,
                campaigns: Vec::new(),
                days: Vec::new(),
                ..other
            };
            return;
        }
        let ids: Vec<u32> = (other.ids.values.iter())
            .map(|id| self.ids.id(&**id, |_| id.clone()))
            .collect();
        let grains: Vec<u32> = (other.grains.values.iter())
            .map(|grain| self.grains.id(&**grain, |_| grain.clone()))
            .collect();
        let offset = u32::try_from(self.len).expect("no more rows than Rows::MAX");
        if !other.is_empty() {
            self.exports.push((offset, export));
        }
        for (mut key, totals) in other.totals {
            key.source_campaign_id = ids[key.source_campaign_id as usize];
            (self.totals.entry(key).or_default()).merge(&totals, offset);
        }
        for chunk in other.chunks {
            for mut row in chunk {
                row.source_campaign_id = ids[row.source_campaign_id as usize];
                row.grain = grains[row.grain as usize];
                self.push_row(row);
            }
        }
    }

    fn push_row(&mut self, row: DeliveryRow) {
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

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where the row at `index` came from.
    pub fn origin(&self, index: u32) -> RowOrigin {
        let at = self.exports.partition_point(|(first, _)| *first <= index);
        RowOrigin {
            export: at.checked_sub(1).map_or(0, |at| self.exports[at].1),
            leaf: self[index].leaf,
        }
    }

    pub fn get(&self, index: usize) -> Option<&DeliveryRow> {
        self.chunks
            .get(index / Rows::CHUNK)?
            .get(index % Rows::CHUNK)
    }

    pub fn iter(&self) -> impl Iterator<Item = &DeliveryRow> {
        self.chunks.iter().flatten()
    }

    /// Every row with its index.
    pub fn indexed(&self) -> impl Iterator<Item = (u32, &DeliveryRow)> {
        self.iter().zip(0u32..).map(|(row, index)| (index, row))
    }

    /// The source campaign id of `row`.
    pub fn source_campaign_id(&self, row: &DeliveryRow) -> &Arc<str> {
        self.ids.get(row.source_campaign_id)
    }

    /// The grain values of `row`.
    pub fn grain(&self, row: &DeliveryRow) -> &Grain {
        self.grains.get(row.grain)
    }

    /// The campaign `row` is mapped to, if it is.
    pub fn campaign(&self, row: &DeliveryRow) -> Option<&Arc<str>> {
        match row.class {
            RowClass::Mapped { campaign } => self.campaigns.get(campaign as usize),
            _ => None,
        }
    }

    /// The campaigns rows are mapped to, each once, by [`RowClass::Mapped`]'s index.
    pub fn campaigns(&self) -> &[Arc<str>] {
        &self.campaigns
    }

    /// The sum of the rows of `key`, until rows are classified.
    pub fn totals(&self, key: &DayKey) -> Option<&Totals> {
        self.totals.get(key)
    }

    /// Replaces the sum of the rows of `key`, until rows are classified.
    pub fn set_totals(&mut self, key: DayKey, totals: Totals) {
        self.totals.insert(key, totals);
    }

    /// Sets every row's class to `class` of it, on every core.
    pub fn set_classes(&mut self, class: impl Fn(&DeliveryRow) -> RowClass + Sync) {
        use rayon::prelude::*;
        (self.chunks.par_iter_mut().flatten()).for_each(|row| row.class = class(row));
    }

    /// Takes out the metrics of the identical duplicate at `index`.
    pub fn remove_duplicate(&mut self, index: u32, metrics: &Metrics) {
        if let Some(totals) = self.totals.get_mut(&self[index].day_key()) {
            totals.remove(metrics);
        }
    }

    /// Names the campaigns of [`RowClass::Mapped`], by index, and sums the rows by
    /// campaign: `mapped` gives the campaign of a `(source, source campaign id)`, if any.
    /// Unmapped rows' sums are dropped.
    pub fn set_campaigns(
        &mut self,
        campaigns: Vec<Arc<str>>,
        mapped: impl Fn(u16, u32) -> Option<u32>,
    ) {
        self.campaigns = campaigns;
        // Rows are read and classified: no string is looked up again.
        self.ids.forget_index();
        self.grains.forget_index();
        let totals = std::mem::take(&mut self.totals);
        let mut days: Vec<CampaignDay> = (totals.into_iter())
            .filter_map(|(key, totals)| {
                Some(CampaignDay {
                    campaign: mapped(key.source, key.source_campaign_id)?,
                    date: key.date,
                    source: key.source,
                    currency: key.currency,
                    totals,
                })
            })
            .collect();
        // One sum per campaign, day, source and currency (a campaign may have several
        // source campaign ids), then one order whatever the hash map's.
        let key = |d: &CampaignDay| (d.campaign, d.date, d.source, d.currency.map(|c| c.code()));
        days.sort_unstable_by_key(key);
        days.dedup_by(|later, earlier| {
            let same = key(later) == key(earlier);
            if same {
                earlier.totals.merge(&later.totals, 0);
            }
            same
        });
        days.sort_unstable_by_key(|d| {
            let first = d.totals.first_spend().unwrap_or(u32::MAX);
            (d.campaign, first, key(d))
        });
        days.shrink_to_fit();
        self.days = days;
    }

    /// The sums of a campaign's rows (by [`RowClass::Mapped`]'s index), in the order its
    /// rows first reported spend (those without spend last).
    pub fn days(&self, campaign: u32) -> &[CampaignDay] {
        let start = self.days.partition_point(|d| d.campaign < campaign);
        let end = self.days.partition_point(|d| d.campaign <= campaign);
        &self.days[start..end]
    }
}

impl std::ops::Index<usize> for Rows {
    type Output = DeliveryRow;

    fn index(&self, index: usize) -> &DeliveryRow {
        &self.chunks[index / Rows::CHUNK][index % Rows::CHUNK]
    }
}

/// Lists of rows (a line's, a client's) hold their indices as `u32`: half the memory.
impl std::ops::Index<u32> for Rows {
    type Output = DeliveryRow;

    fn index(&self, index: u32) -> &DeliveryRow {
        &self[index as usize]
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
    /// A checksum of each run of leaves ([`crate::seal::slice::Checks`]): how a leaf
    /// read back is known to be the one read.
    pub checks: Vec<u64>,
    /// The line of each total row, for reports.
    pub total_lines: Vec<u64>,
    /// Where leaves stop starting one line after the other: from each leaf named here
    /// on, its line is its index plus 1 plus the shift given (the line breaks inside
    /// quoted fields before it). Empty when every leaf is one line.
    pub line_shifts: Vec<(u64, u64)>,
    /// The column of each metric the header maps, in the order of [`Metric`]: where a
    /// row's metrics are read back from its leaf.
    pub metric_columns: [Option<usize>; 4],
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

    /// The 1-based line leaf `index` starts on.
    pub fn line(&self, index: usize) -> u64 {
        let index = index as u64;
        let at = self.line_shifts.partition_point(|(from, _)| *from <= index);
        index + 1 + at.checked_sub(1).map_or(0, |at| self.line_shifts[at].1)
    }

    /// Records that leaf `index`, which starts on line `line`, holds `breaks` line
    /// breaks: leaves are added in order, and each but the last ends with a break.
    pub fn add_lines(&mut self, index: u64, line: u64, breaks: u64) {
        if breaks > 1 {
            // The next leaf starts on line + breaks, where one line each would put it
            // at index + 2.
            self.line_shifts
                .push((index + 1, line + breaks - (index + 2)));
        }
    }

    pub fn count(&self, class: LeafClass) -> usize {
        self.leaf_classes.iter().filter(|c| **c == class).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_keeps_its_index_whether_it_repeats_or_comes_back() {
        let mut interned: Interned<Arc<str>> = Interned::default();
        let ids: Vec<u32> = ["a", "a", "b", "a", "c", "c", "b"]
            .into_iter()
            .map(|key| interned.id(key, |k: &str| Arc::from(k)))
            .collect();
        assert_eq!(ids, [0, 0, 1, 0, 2, 2, 1]);
        interned.forget_index();
        assert_eq!(interned.id("b", |k: &str| Arc::from(k)), 1);
        assert_eq!(interned.id("d", |k: &str| Arc::from(k)), 3);
        let values: Vec<&str> = interned.values().iter().map(|v| &**v).collect();
        assert_eq!(values, ["a", "b", "c", "d"]);
    }

    /// Rows of the lines `lines`, each of the campaign id `id` and the grain `grain`.
    fn rows(lines: impl Iterator<Item = u32>, id: &str, grain: &[&str]) -> Rows {
        let mut rows = Rows::new();
        let source_campaign_id = rows.ids.id(id, |id| id.into());
        let grain = (rows.grains).id(&GrainKey(grain), |g| {
            g.0.iter().map(|v| Arc::from(*v)).collect()
        });
        for line in lines {
            let metrics = Metrics::new(Some(line.into()), None, None, Some(Decimal::ONE));
            let row = DeliveryRow {
                source: 0,
                source_campaign_id,
                date: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                grain,
                currency: None,
                leaf: line,
                class: RowClass::Unmapped,
            };
            rows.push(row, &metrics);
        }
        rows
    }

    #[test]
    fn the_first_rows_appended_are_taken_as_they_are_after_an_export_without_rows() {
        let mut all = Rows::new();
        all.append(Rows::new(), 0);
        all.append(rows(3..5, "c", &["x"]), 1);
        all.append(rows(9..10, "c", &["x"]), 2);
        let origin = |index: u32| {
            let origin = all.origin(index);
            (origin.export, origin.leaf)
        };
        assert_eq!((origin(0), origin(1), origin(2)), ((1, 3), (1, 4), (2, 9)));
        assert_eq!((all.ids.values().len(), all.grains.values().len()), (1, 1));
        assert_eq!(all[0usize].grain, all[2usize].grain);
    }

    #[test]
    fn rows_keep_file_order_and_their_strings_across_chunks_and_appends() {
        // One chunk and a bit, then a second export of a few rows with other strings,
        // none of the third (it could not be read), a fourth with the first one's.
        let mut all = Rows::new();
        all.append(rows(0..Rows::CHUNK as u32 + 3, "c", &[]), 0);
        all.append(rows(1_000_000..1_000_005, "d", &["x", "y"]), 1);
        all.append(Rows::new(), 2);
        all.append(rows(7..8, "c", &[]), 3);
        assert_eq!(all.len(), Rows::CHUNK + 9);
        let origin = |index: usize| {
            let origin = all.origin(index as u32);
            (origin.export, origin.leaf)
        };
        assert_eq!(origin(0), (0, 0));
        assert_eq!(origin(Rows::CHUNK + 2), (0, Rows::CHUNK as u32 + 2));
        assert_eq!(
            origin(Rows::CHUNK + 3),
            (1, 1_000_000),
            "as the index it is given"
        );
        assert_eq!(origin(Rows::CHUNK + 7), (1, 1_000_004));
        assert_eq!(origin(Rows::CHUNK + 8), (3, 7));
        assert!(all.get(Rows::CHUNK + 9).is_none());
        let lines: Vec<u32> = all.iter().map(|r| r.leaf).collect();
        let expected: Vec<u32> = (0..Rows::CHUNK as u32 + 3)
            .chain(1_000_000..1_000_005)
            .chain([7])
            .collect();
        assert_eq!(lines, expected);
        let strings = |i: usize| {
            let row = &all[i];
            let grain: Vec<&str> = all.grain(row).iter().map(|v| &**v).collect();
            (all.source_campaign_id(row).to_string(), grain.join("/"))
        };
        assert_eq!(strings(0usize), ("c".into(), "".into()));
        assert_eq!(strings(Rows::CHUNK + 3), ("d".into(), "x/y".into()));
        assert_eq!(strings(Rows::CHUNK + 8), ("c".into(), "".into()));
        // Each string once, whichever export it came from.
        assert_eq!((all.ids.values().len(), all.grains.values().len()), (2, 2));
        assert_eq!(
            all[0usize].source_campaign_id,
            all[Rows::CHUNK + 8].source_campaign_id
        );
        assert_eq!(
            all.indexed().nth(Rows::CHUNK + 8).map(|(i, _)| i),
            Some(Rows::CHUNK as u32 + 8)
        );
        all[5usize].class = RowClass::Duplicate { of: 1 };
        assert_eq!(
            (&all).into_iter().nth(5).unwrap().class,
            RowClass::Duplicate { of: 1 }
        );

        // Every row's metrics in its day's sum, whichever export it came from; a
        // duplicate's taken out; sums of unmapped rows dropped.
        all.remove_duplicate(5, &Metrics::new(Some(5), None, None, Some(Decimal::ONE)));
        let campaigns = vec![Arc::from("C"), Arc::from("D")];
        let c = all[0usize].source_campaign_id;
        all.set_campaigns(campaigns, |_, id| (id == c).then_some(1));
        assert!(all.days(0).is_empty());
        let [day] = all.days(1) else {
            panic!("one sum for C: {:?}", all.days(1));
        };
        let lines = (0..Rows::CHUNK as u64 + 3).sum::<u64>() + 7 - 5;
        assert_eq!(day.totals.get(Metric::Impressions), Ok(Some(lines.into())));
        let rows = Rows::CHUNK as u64 + 3 + 1 - 1;
        assert_eq!(day.totals.get(Metric::Spend), Ok(Some(rows.into())));
        assert_eq!(day.totals.get(Metric::Clicks), Ok(None));
        assert_eq!(day.totals.first_spend(), Some(0));
        // Classified, the strings' lookups are dropped, and made again if needed.
        assert_eq!(all.ids.id("c", |id| id.into()), c);
        assert_eq!(all.ids.id("e", |id| id.into()), 2);
        assert_eq!(all.ids.values().len(), 3);
    }

    #[test]
    fn metrics_keep_what_was_reported_and_a_row_is_28_bytes() {
        let none = Metrics::default();
        assert_eq!(none, Metrics::new(None, None, None, None));
        assert_eq!(
            [
                none.impressions(),
                none.clicks(),
                none.conversions(),
                none.spend()
            ],
            [None; 4]
        );
        let zero = Metrics::new(Some(0), None, Some(Decimal::ZERO), None);
        assert_ne!(zero, none, "a reported zero is not \"not reported\"");
        assert_eq!(zero.impressions(), Some(Decimal::ZERO));
        assert_eq!(zero.clicks(), None);
        let spend = Decimal::new(123_456, 2);
        let all = Metrics::new(
            Some(u64::MAX),
            Some(7),
            Some(Decimal::new(15, 1)),
            Some(spend),
        );
        assert_eq!(all.get(Metric::Impressions), Some(Decimal::from(u64::MAX)));
        assert_eq!(all.get(Metric::Clicks), Some(Decimal::from(7)));
        assert_eq!(all.get(Metric::Conversions), Some(Decimal::new(15, 1)));
        assert_eq!(all.get(Metric::Spend), Some(spend));
        assert_eq!(std::mem::size_of::<Metrics>(), 52);
        assert_eq!(std::mem::size_of::<DeliveryRow>(), 28);
    }

    #[test]
    fn a_leaf_s_line_is_found_from_the_line_breaks_before_it() {
        // Leaves of 1, 1, 3 (a quoted field with two line breaks), 1, 2 and 1 lines.
        let text = ["h\n", "a\n", "\"x\ny\nz\"\n", "b\r\n", "\"p\nq\"\n", "c"];
        let mut file = ExportFile {
            checks: Vec::new(),
            path: "x.csv".into(),
            source: 0,
            size: 0,
            sha256: [0; 32],
            leaf_ends: Vec::new(),
            leaf_classes: Vec::new(),
            tree: crate::seal::merkle::Tree::default(),
            total_lines: Vec::new(),
            line_shifts: Vec::new(),
            metric_columns: [None; 4],
        };
        let mut line = 1;
        for (index, leaf) in text.iter().enumerate() {
            let lines = leaf.matches('\n').count() as u64;
            file.add_lines(index as u64, line, lines);
            line += lines;
        }
        let lines: Vec<u64> = (0..text.len()).map(|leaf| file.line(leaf)).collect();
        assert_eq!(lines, [1, 2, 3, 6, 7, 9]);
        assert_eq!(
            file.line_shifts,
            [(3, 2), (5, 3)],
            "one per leaf of several lines"
        );
    }
}
