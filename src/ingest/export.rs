//! Reads one raw export in a single streaming pass: each block read from disk is
//! hashed (SHA-256), scanned for Merkle leaf ends (seal.md) and each completed leaf is
//! parsed as a CSV record into a delivery row that remembers its line, byte range and
//! leaf. Memory holds a few blocks and the current leaf, never the file.

use super::cell::{parse_decimal, unsigned_digits};
use crate::error::{ErrorKind, Location, Problems};
use crate::model::{
    Currency, DeliveryRow, ExportFile, GrainKey, LeafClass, Metric, Metrics, Period, PeriodData,
    RowClass, Rows, SourceConfig,
};
use crate::seal::leaves::LeafSplitter;
use crate::seal::merkle::{Hash, Tree, TreeBuilder, leaf_hash};
use crate::seal::slice::{Checks, read_leaves};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sha2::{Digest, Sha256};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What an export yields: the hashed, split file and its delivery rows.
pub struct Export {
    pub file: ExportFile,
    pub rows: Rows,
}

/// Where one export is and what it is read as.
pub struct ExportSpec<'a> {
    pub dir: &'a Path,
    /// Relative to the project.
    pub path: PathBuf,
    pub source_index: usize,
    pub source: &'a SourceConfig,
    pub period: Period,
    /// Index the export will have in its period.
    pub export_index: usize,
}

/// Reads an export. Problems are recorded; `None` when the file could not be read.
///
/// The file is read, hashed whole and cut into leaves (each hashed into the tree) on
/// a thread of its own, and its leaves are parsed on this one as they come, a block at
/// a time (the rows are allocated where the other exports' are):
/// one pass over the bytes, on two cores when another is free (the last export of a
/// period, or a period of one), with at most [`IN_FLIGHT`] blocks between the two.
pub fn read(spec: ExportSpec, problems: &mut Problems) -> Option<Export> {
    let mut file = match std::fs::File::open(spec.dir.join(&spec.path)) {
        Ok(file) => file,
        Err(e) => {
            problems.error(Location::file(&spec.path), ErrorKind::Io(e));
            return None;
        }
    };
    let mut parser = LeafParser::new(&spec);
    let mut rows = Rows::new();
    let (send, blocks) = std::sync::mpsc::sync_channel::<Block>(IN_FLIGHT);
    let (give_back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
    let skip_rows = spec.source.skip_rows;
    let cut = std::thread::scope(|scope| {
        let cutting = scope.spawn(|| cut(&mut file, skip_rows, BLOCK, send, spare));
        for block in blocks {
            let mut start = 0;
            for &end in &block.ends {
                let at = block.offset + start as u64;
                parser.leaf(&block.bytes[start..end], at, &mut rows, problems);
                start = end;
            }
            // Its buffer is read into again.
            let _ = give_back.send(block.bytes);
        }
        cutting.join()
    });
    let cut = match cut {
        Ok(cut) => cut,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    let cut = match cut {
        Ok(cut) => cut,
        Err(e) => {
            problems.error(Location::file(&spec.path), ErrorKind::Io(e));
            return None;
        }
    };
    if parser.file.leaf_classes.len() as u64 <= spec.source.skip_rows {
        let expected = format!(
            "{} preamble line(s), then a header row",
            spec.source.skip_rows
        );
        problems.error(
            Location::file(&spec.path),
            ErrorKind::Empty(format!(" after {expected}")),
        );
    }
    let mut export = Export {
        file: parser.file,
        rows,
    };
    export.file.tree = cut.tree;
    export.file.checks = cut.checks;
    export.file.size = cut.size;
    export.file.sha256 = cut.sha256;
    Some(export)
}

/// Bytes read from an export at a time.
const BLOCK: usize = 1 << 18;

/// Blocks read and not yet parsed, at most.
const IN_FLIGHT: usize = 4;

/// Whole leaves of an export, read together: `bytes` starts `offset` bytes into the
/// file, and each leaf ends at one of `ends`, the first starting at 0.
struct Block {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    offset: u64,
}

/// What reading an export whole gives besides its rows.
struct Cut {
    size: u64,
    sha256: Hash,
    tree: Tree,
    checks: Vec<u64>,
}

/// Reads `file` to its end, hashes it and cuts it into leaves (the first `skip_rows`
/// lines each one, then CSV records), each hashed into its tree and its run's checksum
/// ([`Checks`]) as it ends, and sends them on: the whole leaves of each `block` bytes
/// read (a leaf that goes on past them is read on until it ends). Buffers come back
/// through `spare` to be read into again.
fn cut(
    mut file: impl Read,
    skip_rows: u64,
    block: usize,
    send: std::sync::mpsc::SyncSender<Block>,
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<Cut> {
    let mut hasher = Sha256::new();
    let mut tree = TreeBuilder::default();
    let mut checks = Checks::default();
    let mut splitter = LeafSplitter::new(skip_rows);
    // buf holds file bytes from `offset` on: the start of a leaf, then what was read.
    let (mut buf, mut offset, mut size) = (Vec::with_capacity(block), 0u64, 0u64);
    loop {
        let scanned = buf.len();
        let read = (&mut file).take(block as u64).read_to_end(&mut buf)?;
        size += read as u64;
        hasher.update(&buf[scanned..]);
        let mut ends = Vec::new();
        let mut at = scanned;
        while let Some(len) = splitter.next_end(&buf[at..]) {
            at += len;
            ends.push(at);
        }
        let end = ends.last().copied().unwrap_or(0);
        // At the end of the file, what follows the last line feed is the last leaf.
        if read == 0 && end < buf.len() {
            ends.push(buf.len());
        } else if read > 0 && ends.is_empty() {
            continue;
        }
        let mut start = 0;
        for &end in &ends {
            tree.push(leaf_hash(&buf[start..end]));
            checks.leaf(&buf[start..end]);
            start = end;
        }
        let mut next = spare.try_recv().unwrap_or_default();
        next.clear();
        next.extend_from_slice(&buf[start..]);
        buf.truncate(start);
        let sent = start as u64;
        if !ends.is_empty() {
            let leaves = Block {
                bytes: std::mem::replace(&mut buf, next),
                ends,
                offset,
            };
            send.send(leaves)
                .map_err(|_| std::io::Error::other("the export's rows stopped being read"))?;
        }
        offset += sent;
        if read == 0 {
            return Ok(Cut {
                size,
                sha256: hasher.finalize().into(),
                tree: tree.finish(),
                checks: checks.finish(),
            });
        }
    }
}

/// Column indices of the fields a source maps, found in the header.
struct Layout {
    campaign: usize,
    date: usize,
    grain: Vec<usize>,
    impressions: Option<usize>,
    clicks: Option<usize>,
    conversions: Option<usize>,
    spend: Option<usize>,
    currency: Option<usize>,
    /// Header names, for messages.
    names: Vec<String>,
}

/// Turns leaves into classified leaves and delivery rows.
struct LeafParser<'a> {
    spec: &'a ExportSpec<'a>,
    file: ExportFile,
    /// `None` until the header is read, and for good if it is unusable.
    layout: Option<Layout>,
    /// Line feeds before the current leaf.
    lines_before: u64,
    /// Whether the file has more lines than a row's origin can number (reported once).
    overlong: bool,
    /// The current record's fields.
    fields: Fields,
    /// The currency of the last row whose currency cell read as one.
    currency: std::cell::Cell<Option<Currency>>,
}

/// The unescaped fields of one leaf read as a CSV record (its line ending excluded).
struct Fields {
    csv: csv_core::Reader,
    /// The fields' bytes, one after another, and where each ends in them.
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Bytes between one field's end and the next's start: the comma of a leaf kept
    /// as it is, none between unescaped fields.
    between: usize,
}

impl Fields {
    fn new() -> Fields {
        Fields {
            csv: csv_core::ReaderBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            bytes: Vec::new(),
            ends: Vec::new(),
            between: 0,
        }
    }

    /// Unescapes the leaf's fields.
    fn split(&mut self, leaf: &[u8]) {
        let content = leaf.strip_suffix(b"\n").unwrap_or(leaf);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        // Most leaves quote nothing: their fields are the bytes between commas, as the
        // CSV reader would read them (an empty leaf, which it reads as no field, is
        // left to it).
        // They are kept as they are, with the commas between them.
        if !content.is_empty() && memchr::memchr(b'"', content).is_none() {
            self.bytes.clear();
            self.bytes.extend_from_slice(content);
            self.ends.clear();
            self.ends.extend(memchr::memchr_iter(b',', content));
            self.ends.push(content.len());
            self.between = 1;
            return;
        }
        self.unescape(content);
    }

    /// Reads `content`, one record without its line end, through the CSV reader.
    fn unescape(&mut self, content: &[u8]) {
        self.bytes.clear();
        self.ends.clear();
        self.csv.reset();
        self.bytes.resize(content.len(), 0);
        self.ends.resize(content.len() + 1, 0);
        let (mut input, mut out, mut nends) = (0, 0, 0);
        loop {
            let (result, nin, nout, nend) = self.csv.read_record(
                &content[input..],
                &mut self.bytes[out..],
                &mut self.ends[nends..],
            );
            input += nin;
            out += nout;
            nends += nend;
            match result {
                csv_core::ReadRecordResult::InputEmpty if input < content.len() => {}
                csv_core::ReadRecordResult::InputEmpty => {
                    // Signal the end of input: the record is complete.
                    let (result, _, nout, nend) =
                        self.csv
                            .read_record(&[], &mut self.bytes[out..], &mut self.ends[nends..]);
                    out += nout;
                    nends += nend;
                    debug_assert!(matches!(
                        result,
                        csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End
                    ));
                    break;
                }
                // Output never outgrows the input, so these end the record too.
                _ => break,
            }
        }
        self.bytes.truncate(out);
        self.ends.truncate(nends);
        self.between = 0;
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            self.ends[i - 1] + self.between
        };
        &self.bytes[start..self.ends[i]]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The metrics of a delivery row that was kept, whose metrics are in `columns` (in
    /// the order of [`crate::model::Metric`]); `None` if one no longer reads as a
    /// metric did.
    fn metrics(&self, columns: &[Option<usize>; 4], separator: Option<char>) -> Option<Metrics> {
        let mut values = [None; 4];
        for (value, column) in values.iter_mut().zip(columns) {
            let Some(column) = *column else { continue };
            let cell = std::str::from_utf8(self.bytes_of(column)?).ok()?.trim();
            if !cell.is_empty() {
                *value = Some(parse_metric(cell, separator)?);
            }
        }
        let [impressions, clicks, conversions, spend] = values;
        let count = |value: Option<Decimal>| match value {
            Some(value) => value.to_u64().map(Some),
            None => Some(None),
        };
        Some(Metrics::new(
            count(impressions)?,
            count(clicks)?,
            conversions,
            spend,
        ))
    }

    fn bytes_of(&self, i: usize) -> Option<&[u8]> {
        (i < self.len()).then(|| self.get(i))
    }
}

impl<'a> LeafParser<'a> {
    fn new(spec: &'a ExportSpec<'a>) -> Self {
        LeafParser {
            spec,
            file: ExportFile {
                path: spec.path.clone(),
                source: spec.source_index,
                size: 0,
                sha256: [0; 32],
                leaf_ends: Vec::new(),
                leaf_classes: Vec::new(),
                tree: Tree::default(),
                checks: Vec::new(),
                total_lines: Vec::new(),
                line_shifts: Vec::new(),
                metric_columns: [None; 4],
            },
            layout: None,
            lines_before: 0,
            overlong: false,
            fields: Fields::new(),
            currency: std::cell::Cell::new(None),
        }
    }

    fn leaf(&mut self, leaf: &[u8], start: u64, rows: &mut Rows, problems: &mut Problems) {
        let index = self.file.leaf_ends.len() as u64;
        let line = self.lines_before + 1;
        let lines = memchr::memchr_iter(b'\n', leaf).count() as u64;
        self.lines_before += lines;
        self.file.add_lines(index, line, lines);
        // A row's origin numbers leaves in 32 bits (model::RowOrigin), and a leaf is at
        // least a line: a file of more lines is refused, once, at the first beyond.
        if line.max(self.lines_before) > u64::from(u32::MAX)
            && !std::mem::replace(&mut self.overlong, true)
        {
            let message = "an export holds at most 4,294,967,295 lines: split it into several files of the same source";
            let at = Location::line(&self.spec.path, line.max(u64::from(u32::MAX) + 1));
            problems.error(at, ErrorKind::Rule(message.into()));
        }
        self.file.leaf_ends.push(start + leaf.len() as u64);
        let class = if index < self.spec.source.skip_rows {
            LeafClass::Preamble
        } else if index == self.spec.source.skip_rows {
            self.fields.split(leaf);
            self.layout = self.header(line, problems);
            if let Some(layout) = &self.layout {
                let columns = [
                    layout.impressions,
                    layout.clicks,
                    layout.conversions,
                    layout.spend,
                ];
                self.file.metric_columns = columns;
            }
            LeafClass::Header
        } else {
            self.fields.split(leaf);
            if (0..self.fields.len()).all(|i| self.field(i).trim_ascii().is_empty()) {
                LeafClass::Blank
            } else if self.is_total() {
                self.file.total_lines.push(line);
                LeafClass::Total
            } else {
                // Beyond 32 bits the file is refused above.
                if let Ok(leaf) = u32::try_from(index)
                    && let Some((row, metrics)) = self.delivery_row(leaf, line, rows, problems)
                {
                    rows.push(row, &metrics);
                }
                LeafClass::Data
            }
        };
        self.file.leaf_classes.push(class);
    }

    fn field(&self, i: usize) -> &[u8] {
        self.fields.get(i)
    }

    fn is_total(&self) -> bool {
        let prefix = self
            .spec
            .source
            .footer_prefix
            .as_deref()
            .unwrap_or_default();
        !prefix.is_empty() && self.fields.len() > 0 && self.field(0).starts_with(prefix.as_bytes())
    }

    fn header(&self, line: u64, problems: &mut Problems) -> Option<Layout> {
        let at = || Location::line(&self.spec.path, line);
        let mut names = Vec::with_capacity(self.fields.len());
        for i in 0..self.fields.len() {
            let Ok(name) = std::str::from_utf8(self.field(i)) else {
                problems.error(at().with_column(i as u64 + 1, None), ErrorKind::NotUtf8);
                return None;
            };
            names.push(name.trim_start_matches('\u{feff}').trim().to_owned());
        }
        let mut positions: HashMap<&str, usize> = HashMap::new();
        let mut duplicated: HashMap<&str, (usize, usize)> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            if let Some(first) = positions.get(name.as_str()) {
                duplicated.entry(name).or_insert((*first, i));
            } else {
                positions.insert(name, i);
            }
        }
        let mut ok = true;
        let mut find = |name: &str| -> Option<usize> {
            if let Some((first, second)) = duplicated.get(name) {
                let kind = ErrorKind::DuplicateColumn {
                    name: name.into(),
                    first: *first as u64 + 1,
                    second: *second as u64 + 1,
                };
                problems.error(at().with_column(*second as u64 + 1, None), kind);
                ok = false;
                return None;
            }
            let found = positions.get(name).copied();
            if found.is_none() {
                let kind = ErrorKind::MissingMappedColumn {
                    column: name.into(),
                    source_name: self.spec.source.name.clone(),
                };
                problems.error(at(), kind);
                ok = false;
            }
            found
        };
        let columns = &self.spec.source.columns;
        let mut optional = |name: &Option<String>| name.as_deref().and_then(&mut find);
        let impressions = optional(&columns.impressions);
        let clicks = optional(&columns.clicks);
        let conversions = optional(&columns.conversions);
        let spend = optional(&columns.spend);
        let currency = optional(&columns.currency);
        let campaign = find(&columns.campaign);
        let date = find(&columns.date);
        let grain: Vec<_> = self.spec.source.grain.iter().map(|g| find(g)).collect();
        let (Some(campaign), Some(date)) = (campaign, date) else {
            return None;
        };
        let grain = grain.into_iter().collect::<Option<Vec<_>>>()?;
        ok.then_some(Layout {
            campaign,
            date,
            grain,
            impressions,
            clicks,
            conversions,
            spend,
            currency,
            names,
        })
    }

    fn delivery_row(
        &self,
        leaf: u32,
        line: u64,
        rows: &mut Rows,
        problems: &mut Problems,
    ) -> Option<(DeliveryRow, Metrics)> {
        let layout = self.layout.as_ref()?;
        let at = |column: usize| {
            Location::line(&self.spec.path, line).with_column(
                column as u64 + 1,
                layout.names.get(column).map(String::as_str),
            )
        };
        if self.fields.len() != layout.names.len() {
            let kind = ErrorKind::FieldCount {
                expected: layout.names.len(),
                found: self.fields.len(),
            };
            problems.error(Location::line(&self.spec.path, line), kind);
            return None;
        }
        let before = problems.error_count();
        let mut text = |column: usize| -> Option<&str> {
            match std::str::from_utf8(self.field(column)) {
                Ok(text) => Some(text.trim()),
                Err(_) => {
                    problems.error(at(column), ErrorKind::NotUtf8);
                    None
                }
            }
        };
        let campaign = text(layout.campaign);
        let date = text(layout.date);
        // On the stack: a row or two of grain, ten million rows a month.
        let grain: SmallVec<[_; 4]> = layout.grain.iter().map(|c| text(*c)).collect();
        let cells = [
            layout.impressions,
            layout.clicks,
            layout.conversions,
            layout.spend,
            layout.currency,
        ];
        let [impressions, clicks, conversions, spend, currency] =
            cells.map(|c| c.and_then(&mut text));
        let invalid = |problems: &mut Problems, column: usize, expected: &str, found: &str| {
            problems.error(
                at(column),
                ErrorKind::Invalid {
                    expected: expected.into(),
                    found: found.into(),
                },
            );
        };
        if let Some("") = campaign {
            invalid(problems, layout.campaign, "a campaign id", "");
        }
        let date = date.and_then(|d| {
            let parsed = <NaiveDate as super::cell::Cell>::parse(d);
            match parsed {
                None => invalid(problems, layout.date, "a date YYYY-MM-DD", d),
                Some(day) if !self.spec.period.contains(day) => {
                    let expected = format!(
                        "a date in {} (the period folder it is in)",
                        self.spec.period
                    );
                    invalid(problems, layout.date, &expected, d);
                }
                Some(_) => {}
            }
            parsed
        });
        let sep = self.spec.source.thousands_separator;
        let mut metric =
            |column: Option<usize>, cell: Option<&str>, whole: bool| -> Option<Decimal> {
                let (column, cell) = (column?, cell?);
                if cell.is_empty() {
                    return None;
                }
                let value =
                    parse_metric(cell, sep).filter(|v| !v.is_sign_negative() || v.is_zero());
                let value = value.filter(|v| !whole || v.fract().is_zero());
                // A whole number is kept as a `u64` (Metrics): one beyond is refused.
                let too_large = whole && value.is_some_and(|v| v.to_u64().is_none());
                if too_large {
                    let expected = format!("a whole number of at most {}", u64::MAX);
                    invalid(problems, column, &expected, cell);
                    return None;
                }
                if value.is_none() {
                    let expected = match (whole, sep) {
                        (true, Some(s)) => {
                            format!("a whole number of 0 or more (thousands separator '{s}')")
                        }
                        (true, None) => "a whole number of 0 or more".to_owned(),
                        (false, Some(s)) => {
                            format!("a decimal number of 0 or more (thousands separator '{s}')")
                        }
                        (false, None) => "a decimal number of 0 or more".to_owned(),
                    };
                    invalid(problems, column, &expected, cell);
                }
                value
            };
        // A count of plain digits, the common cell, is read as the `u64` it is kept as;
        // any other is read as a decimal, and refused as one is.
        let mut count = |column: Option<usize>, cell: Option<&str>| match cell.and_then(plain_count)
        {
            Some(count) => Some(count),
            None => metric(column, cell, true).and_then(|v| v.to_u64()),
        };
        let (impressions, clicks) = (
            count(layout.impressions, impressions),
            count(layout.clicks, clicks),
        );
        let spend_value = metric(layout.spend, spend, false);
        let metrics = Metrics::new(
            impressions,
            clicks,
            metric(layout.conversions, conversions, false),
            spend_value,
        );
        let currency = match (layout.currency, currency) {
            (Some(column), Some(code)) if !code.is_empty() => {
                // Rows of an export come in a currency or a few: the last one found.
                let last = self.currency.get().filter(|c| c.code() == code);
                let found = last.or_else(|| Currency::from_code(code));
                self.currency.set(found);
                if found.is_none() {
                    invalid(
                        problems,
                        column,
                        "an ISO 4217 currency code such as EUR",
                        code,
                    );
                }
                found
            }
            _ => self.spec.source.currency,
        };
        let currency_blank = currency.is_none()
            && layout
                .currency
                .is_none_or(|c| self.field(c).trim_ascii().is_empty());
        if let (Some(_), true, Some(column)) = (spend_value, currency_blank, layout.spend) {
            invalid(
                problems,
                column,
                "spend with a currency (the currency cell is blank)",
                spend.unwrap_or_default(),
            );
        }
        if problems.error_count() != before {
            return None;
        }
        // Every cell read: a row to keep, whose strings are interned (so there are
        // never more of them than rows, which a `u32` numbers).
        let (Some(campaign), Some(date), Some(grain)) = (
            campaign,
            date,
            grain.into_iter().collect::<Option<SmallVec<[&str; 4]>>>(),
        ) else {
            return None;
        };
        let grain = (rows.grains).id(&GrainKey(&grain), |g| {
            g.0.iter().map(|value| Arc::from(*value)).collect()
        });
        let source_campaign_id = rows.ids.id(campaign, |id| Arc::from(id));
        let source = u16::try_from(self.spec.source_index)
            .expect("config refuses more sources than 16 bits number");
        let row = DeliveryRow {
            source,
            source_campaign_id,
            date,
            grain,
            currency,
            leaf,
            class: RowClass::Unmapped,
        };
        Some((row, metrics))
    }
}

/// A row's metrics could not be read back from its export.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", crate::error::display_path(.path))]
pub struct ReadBackError {
    /// Relative to the project.
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Reads back the metrics of the rows `rows` (indices into `data.rows`) of the project
/// at `dir` from their leaves, as [`read_back`] does: `each(index, metrics)` for each
/// row, in file order (by export, then leaf).
pub fn read_metrics(
    dir: &Path,
    data: &PeriodData,
    sources: &[SourceConfig],
    rows: &[u32],
    mut each: impl FnMut(u32, Metrics),
) -> Result<(), ReadBackError> {
    read_back(dir, data, sources, rows, |index, cells| {
        each(index, cells.metrics()?);
        Some(())
    })
}

/// The metric cells of a kept row, read back from its leaf by [`read_back`].
pub struct Cells<'a> {
    fields: &'a Fields,
    columns: &'a [Option<usize>; 4],
    separator: Option<char>,
}

impl Cells<'_> {
    /// The row's metrics; `None` if one no longer reads as a metric did.
    pub fn metrics(&self) -> Option<Metrics> {
        self.fields.metrics(self.columns, self.separator)
    }

    /// Appends `metric` in its machine form, the value [`Cells::metrics`] reads
    /// normalised (`Decimal::normalize`: `1,250.50` is `1250.5`), nothing when not
    /// reported; `None` if its cell no longer reads as that metric. A blank cell, or
    /// one of plain digits, the common ones, is written from its text, without parsing
    /// it or formatting a decimal; any other is read alone, as [`Cells::metrics`]
    /// reads it.
    pub fn plain(&self, metric: Metric, out: &mut String) -> Option<()> {
        let Some(column) = self.columns[metric as usize] else {
            return Some(());
        };
        let cell = std::str::from_utf8(self.fields.bytes_of(column)?)
            .ok()?
            .trim();
        if cell.is_empty() {
            return Some(());
        }
        if let Some((whole, fraction)) = plain_digits(cell) {
            out.push_str(whole);
            if !fraction.is_empty() {
                out.push('.');
                out.push_str(fraction);
            }
            return Some(());
        }
        let value = parse_metric(cell, self.separator)?;
        // A count is kept as a `u64` (Metrics), as `metrics` keeps it.
        let value = match metric {
            Metric::Impressions | Metric::Clicks => Decimal::from(value.to_u64()?),
            Metric::Conversions | Metric::Spend => value,
        };
        use std::fmt::Write;
        let _ = write!(out, "{}", value.normalize());
        Some(())
    }
}

/// The whole part and fraction of a cell of plain digits (`0012.50`) as its value
/// normalised shows them (`12`, `5`: no leading zeros but one, no trailing zeros);
/// `None` for any other cell (a sign, a separator, an exponent, over 18 characters).
fn plain_digits(cell: &str) -> Option<(&str, &str)> {
    let (whole, fraction) = unsigned_digits(cell).filter(|_| cell.len() <= 18)?;
    let whole = whole.trim_start_matches('0');
    Some((
        if whole.is_empty() { "0" } else { whole },
        fraction.trim_end_matches('0'),
    ))
}

/// Reads back the rows `rows` (indices into `data.rows`) of the project at `dir` from
/// their leaves, every run of leaves read checked against the checksum kept when the
/// export was read ([`read_leaves`]), so they are the cells that were summed: `each(index, cells)`
/// for each row, in file order (by export, then leaf). `each` returns `None` when a
/// row no longer reads as it did, which fails the read.
pub fn read_back(
    dir: &Path,
    data: &PeriodData,
    sources: &[SourceConfig],
    rows: &[u32],
    mut each: impl FnMut(u32, &Cells) -> Option<()>,
) -> Result<(), ReadBackError> {
    let origin = |index: &u32| data.rows.origin(*index);
    let mut rows = rows.to_vec();
    rows.sort_unstable(); // in file order: by export, then leaf
    let mut reader = LeafReader::new();
    for group in rows.chunk_by(|a, b| origin(a).export == origin(b).export) {
        let export = &data.exports[origin(&group[0]).export()];
        let separator = sources[export.source].thousands_separator;
        let mut leaves: Vec<usize> = group.iter().map(|i| origin(i).leaf as usize).collect();
        leaves.dedup();
        let failed = |source| ReadBackError {
            path: export.path.clone(),
            source,
        };
        let mut next = group.iter().peekable();
        let mut unreadable = None;
        let read = read_leaves(&dir.join(&export.path), export, &leaves, |leaf, bytes| {
            let mut split = false;
            while let Some(index) = next.next_if(|i| origin(i).leaf as usize == leaf) {
                if !std::mem::replace(&mut split, true) {
                    reader.split(bytes);
                }
                if each(*index, &reader.cells(export, separator)).is_none() {
                    unreadable = Some(leaf);
                }
            }
            Ok(())
        });
        read.map_err(failed)?;
        if let Some(leaf) = unreadable {
            return Err(failed(LeafReader::unreadable(export, leaf)));
        }
    }
    Ok(())
}

/// Reads the cells of kept rows from their leaves' bytes, as the export was read.
pub struct LeafReader {
    fields: Fields,
}

impl LeafReader {
    pub fn new() -> LeafReader {
        LeafReader {
            fields: Fields::new(),
        }
    }

    /// Reads `bytes`, the leaf of a row, for [`LeafReader::cells`].
    pub fn split(&mut self, bytes: &[u8]) {
        self.fields.split(bytes);
    }

    /// The cells of the row whose leaf, in `export`, was split last.
    pub fn cells<'a>(&'a self, export: &'a ExportFile, separator: Option<char>) -> Cells<'a> {
        Cells {
            fields: &self.fields,
            columns: &export.metric_columns,
            separator,
        }
    }

    /// The error of a row whose leaf `leaf` of `export` no longer reads as it did.
    pub fn unreadable(export: &ExportFile, leaf: usize) -> std::io::Error {
        let message = format!(
            "line {} no longer reads as the row it was (a bug in tallyseal; please report it)",
            export.line(leaf)
        );
        std::io::Error::other(message)
    }
}

impl Default for LeafReader {
    fn default() -> Self {
        LeafReader::new()
    }
}

/// A cell of 1 to 19 digits, as the count it is (every such number fits in a `u64`);
/// `None` for any other cell.
fn plain_count(cell: &str) -> Option<u64> {
    let digits = (1..=19).contains(&cell.len()) && cell.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| cell.bytes().fold(0, |n, b| n * 10 + u64::from(b - b'0')))
}

/// A metric cell, with the source's thousands separator allowed between groups of
/// three digits (`"1,234,567.5"`); a misplaced separator is an error, never guessed.
pub fn parse_metric(cell: &str, separator: Option<char>) -> Option<Decimal> {
    // `chars().any`: `contains` costs more on cells this short.
    let Some(sep) = separator.filter(|s| cell.chars().any(|c| c == *s)) else {
        return parse_decimal(cell);
    };
    let unsigned = cell.strip_prefix('-').unwrap_or(cell);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let mut groups = whole.split(sep);
    let first = groups.next()?;
    let grouped = (1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3);
    if !grouped || fraction.is_some_and(|f| f.contains(sep)) {
        return None;
    }
    parse_decimal(&cell.replace(sep, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators_only_between_groups_of_three() {
        let p = |s| parse_metric(s, Some(',')).map(|d| d.to_string());
        assert_eq!(p("1,234,567"), Some("1234567".into()));
        assert_eq!(p("1,234.50"), Some("1234.50".into()));
        assert_eq!(p("999"), Some("999".into()));
        for bad in ["1,23", "12,3456", ",123", "1,234,", "1.234,5", "1,,234"] {
            assert_eq!(p(bad), None, "{bad}");
        }
        assert_eq!(
            parse_metric("1 234", Some(' ')).map(|d| d.to_string()),
            Some("1234".into())
        );
        assert_eq!(parse_metric("1,234", None), None, "no separator configured");
    }

    #[test]
    fn plain_digits_are_written_as_their_value_normalised() {
        assert_eq!(plain_digits("0012.50"), Some(("12", "5")));
        assert_eq!(plain_digits("100"), Some(("100", "")));
        assert_eq!(plain_digits("0"), Some(("0", "")));
        assert_eq!(plain_digits("0.000"), Some(("0", "")));
        assert_eq!(plain_digits("0.05"), Some(("0", "05")));
        let others = [
            "", "1,000", "-1", "+1", "1e3", "12.", ".5", "1.2.3", "1 000",
        ];
        for cell in others.into_iter().chain(["1234567890.12345678"]) {
            assert_eq!(plain_digits(cell), None, "{cell}");
        }
    }

    proptest::proptest! {
        /// Cut a block at a time, whatever the block's size, a file gives the leaves,
        /// hash, size and tree it gives read whole; every leaf is sent once, in order.
        #[test]
        fn a_file_cut_in_blocks_is_the_file_read_whole(
            text in "([a-z,]{0,5}|\"[a-z,\n\"]{0,9}\"|\r?\n){0,30}",
            skip_rows in 0u64..3,
            block in 1usize..24,
        ) {
            let bytes = text.as_bytes();
            let (send, blocks) = std::sync::mpsc::sync_channel::<Block>(IN_FLIGHT);
            let (_give_back, spare) = std::sync::mpsc::channel();
            let (cut, leaves) = std::thread::scope(|scope| {
                let cutting = scope.spawn(|| cut(bytes, skip_rows, block, send, spare));
                let mut leaves = Vec::new();
                for block in blocks {
                    let mut start = 0;
                    for &end in &block.ends {
                        let at = block.offset as usize + start;
                        proptest::prop_assert_eq!(&block.bytes[start..end], &bytes[at..at + end - start]);
                        leaves.push(at..at + end - start);
                        start = end;
                    }
                }
                Ok((cutting.join().expect("cut").expect("read from memory"), leaves))
            })?;
            let whole = crate::seal::leaves::split(bytes, skip_rows);
            proptest::prop_assert_eq!(&leaves, &whole);
            proptest::prop_assert_eq!(cut.size, bytes.len() as u64);
            proptest::prop_assert_eq!(cut.sha256, <[u8; 32]>::from(Sha256::digest(bytes)));
            let hashes = whole.iter().map(|r| leaf_hash(&bytes[r.clone()])).collect();
            proptest::prop_assert_eq!(cut.tree.root(), Tree::new(hashes).root());
        }

        /// A leaf's fields are those the CSV reader reads, whether it quotes any (read
        /// by the reader) or none (cut at commas).
        #[test]
        fn fields_are_those_the_csv_reader_reads(
            leaf in "([a-z0-9 .\r-]{0,6}|\"[a-z0-9,\" ]{0,6}\"),{0,1}(([a-z0-9 .\r-]{0,6}|\"[a-z0-9,\" ]{0,6}\"),){0,5}(\r?\n)?"
        ) {
            let mut fields = Fields::new();
            let all = |fields: &Fields| (0..fields.len()).map(|i| fields.get(i).to_vec()).collect::<Vec<_>>();
            fields.split(leaf.as_bytes());
            let split = all(&fields);
            let content = leaf.strip_suffix('\n').unwrap_or(&leaf);
            fields.unescape(content.strip_suffix('\r').unwrap_or(content).as_bytes());
            proptest::prop_assert_eq!(split, all(&fields), "{:?}", leaf);
        }

        /// A row's metrics are written as [`Cells::metrics`] reads them, normalised,
        /// separators, signs, fractions and blanks included; a cell that does not read
        /// as its metric is refused by both.
        #[test]
        fn metrics_are_written_as_they_are_read(
            // Counts as ingest keeps them (whole), amounts any decimal; and cells that
            // do not read as a metric.
            counts in proptest::collection::vec("|[0-9]{1,7}(\\.0{1,2})?|[0-9]{1,3}(,[0-9]{3}){0,2}|-0|-3|1e3|1,2", 2),
            amounts in proptest::collection::vec("|-?[0-9]{1,7}(\\.[0-9]{0,3})?|[0-9]{1,3}(,[0-9]{3}){0,2}(\\.[0-9]{1,2})?|-0|1e3|1,2", 2),
        ) {
            let cells = [counts, amounts].concat();
            // Each cell quoted, as an export quotes a cell with a thousands separator.
            let leaf: Vec<String> = cells.iter().map(|cell| format!("\"{cell}\"")).collect();
            let mut fields = Fields::new();
            fields.split(leaf.join(",").as_bytes());
            let columns = [Some(0), Some(1), Some(2), Some(3)];
            let cells = Cells { fields: &fields, columns: &columns, separator: Some(',') };
            let read = cells.metrics();
            let metrics = [Metric::Impressions, Metric::Clicks, Metric::Conversions, Metric::Spend];
            let written: Vec<Option<String>> = (metrics.iter())
                .map(|metric| {
                    let mut out = String::new();
                    cells.plain(*metric, &mut out).map(|()| out)
                })
                .collect();
            match read {
                Some(read) => {
                    for (metric, written) in metrics.iter().zip(written) {
                        let value = read.get(*metric).map(|v| v.normalize().to_string());
                        proptest::prop_assert_eq!(written, Some(value.unwrap_or_default()));
                    }
                }
                // Some cell of the row does not read: it is refused.
                None => proptest::prop_assert!(written.contains(&None)),
            }
        }

        /// A count of plain digits is the count its decimal is.
        #[test]
        fn plain_counts_are_their_decimals(cell in "[0-9]{1,20}|[0-9,.e+-]{1,8}") {
            let decimal = parse_metric(&cell, None).and_then(|v| v.to_u64());
            match plain_count(&cell) {
                Some(count) => proptest::prop_assert_eq!(Some(count), decimal),
                None => proptest::prop_assert!(
                    cell.len() > 19 || !cell.bytes().all(|b| b.is_ascii_digit()),
                    "{} is plain digits", cell
                ),
            }
        }

        /// What is written from a cell's text is what parsing it and formatting the
        /// value normalised gives, as a decimal and as a count (kept as a `u64`).
        #[test]
        fn plain_digits_agree_with_the_decimal(
            cell in "[0-9]{1,12}(\\.[0-9]{1,5})?|[0-9.,e+-]{1,20}"
        ) {
            let Some((whole, fraction)) = plain_digits(&cell) else {
                let plain = cell.len() <= 18
                    && cell.split('.').count() <= 2
                    && cell.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
                proptest::prop_assert!(!plain, "{cell} is plain digits");
                return Ok(());
            };
            let shown = if fraction.is_empty() {
                whole.to_owned()
            } else {
                format!("{whole}.{fraction}")
            };
            let value = parse_decimal(&cell).expect("plain digits read");
            proptest::prop_assert_eq!(&shown, &value.normalize().to_string());
            if let Some(count) = value.fract().is_zero().then(|| value.to_u64()).flatten() {
                proptest::prop_assert_eq!(&shown, &Decimal::from(count).normalize().to_string());
            }
        }
    }
}
