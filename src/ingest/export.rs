//! Reads one raw export in a single streaming pass: each piece read from disk is
//! hashed (SHA-256) and scanned for Merkle leaf ends (seal.md) in file order, and the
//! whole leaves are handed out in chunks of about a megabyte, parsed on every core (each
//! leaf hashed, and read as a CSV record into a delivery row that remembers its leaf)
//! and merged back in file order. Memory holds two windows of chunks per export being
//! read (about 16 MB), never the file.

use super::cell::{parse_decimal, unsigned_digits};
use crate::error::{ErrorKind, Location, Problems};
use crate::model::{
    Currency, DeliveryRow, ExportFile, GrainKey, LeafClass, Metric, Metrics, Period, PeriodData,
    RowClass, Rows, SourceConfig,
};
use crate::seal::leaves::LeafSplitter;
use crate::seal::merkle::{LeafRun, TreeBuilder, leaf_hash};
use crate::seal::slice::read_blocks;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes read from the file at a time.
const READ: u64 = 1 << 18;
/// About how many bytes of whole leaves one core parses at a time.
const CHUNK: usize = 1 << 20;
/// Chunks read while the ones before them are parsed.
const WINDOW: usize = 8;

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
/// The file is read once, in order: each piece read is hashed and split into leaves
/// on this core, and cut into chunks of whole leaves. The preamble and the header are
/// parsed first; then each window of chunks is parsed on every core while the next is
/// read, and merged in file order, so that one large export does not keep one core
/// busy while the others wait.
pub fn read(spec: ExportSpec, problems: &mut Problems) -> Option<Export> {
    read_in_chunks(spec, CHUNK, problems)
}

/// [`read`], with chunks of about `chunk` bytes.
fn read_in_chunks(spec: ExportSpec, chunk: usize, problems: &mut Problems) -> Option<Export> {
    let at = || Location::file(&spec.path);
    let file = match std::fs::File::open(spec.dir.join(&spec.path)) {
        Ok(file) => file,
        Err(e) => {
            problems.error(at(), ErrorKind::Io(e));
            return None;
        }
    };
    let mut reader = ChunkReader::new(file, spec.source.skip_rows, chunk);
    let mut export = Merged::new(&spec);
    // Up to the header, which every data leaf is read with.
    let header = usize::try_from(spec.source.skip_rows.saturating_add(1)).unwrap_or(usize::MAX);
    match reader.chunk(Some(header)) {
        Ok(Some(chunk)) => {
            let parsed = LeafParser::parse(&spec, None, &chunk);
            export.merge(parsed, problems);
        }
        Ok(None) => {}
        Err(e) => {
            problems.error(at(), ErrorKind::Io(e));
            return None;
        }
    }
    let mut window = reader.window();
    loop {
        let chunks = match window {
            Ok(chunks) if chunks.is_empty() => break,
            Ok(chunks) => chunks,
            Err(e) => {
                problems.error(at(), ErrorKind::Io(e));
                return None;
            }
        };
        let layout = export.layout.as_ref();
        let parse = || -> Vec<Parsed> {
            use rayon::prelude::*;
            (chunks.par_iter())
                .map(|chunk| LeafParser::parse(&spec, layout, chunk))
                .collect()
        };
        let (parsed, next) = rayon::join(parse, || reader.window());
        for parsed in parsed {
            export.merge(parsed, problems);
        }
        window = next;
    }
    let (size, sha256) = reader.finish();
    if export.file.leaf_classes.len() as u64 <= spec.source.skip_rows {
        let expected = format!(
            "{} preamble line(s), then a header row",
            spec.source.skip_rows
        );
        problems.error(at(), ErrorKind::Empty(format!(" after {expected}")));
    }
    let Merged {
        mut file,
        tree,
        rows,
        ..
    } = export;
    file.tree = tree.finish();
    file.size = size;
    file.sha256 = sha256;
    Some(Export { file, rows })
}

/// Whole leaves of an export, read in one piece: where they start in the file and
/// which leaf and line they start at.
struct Chunk {
    bytes: Vec<u8>,
    /// Where each leaf ends in `bytes`.
    ends: Vec<usize>,
    offset: u64,
    first_leaf: u64,
    first_line: u64,
}

/// Reads a file once, in order, hashing it and finding its leaves, and hands it out in
/// chunks of whole leaves.
struct ChunkReader {
    file: std::fs::File,
    hasher: Sha256,
    splitter: LeafSplitter,
    /// Bytes read and not handed out yet, from `offset` on: whole leaves, which end at
    /// `ends`, then the start of the next, scanned up to `scanned`.
    pending: Vec<u8>,
    ends: Vec<usize>,
    scanned: usize,
    offset: u64,
    /// The leaf and the line `pending` starts at.
    next_leaf: u64,
    next_line: u64,
    end_of_file: bool,
    /// About how many bytes a chunk holds ([`CHUNK`]).
    chunk: usize,
}

impl ChunkReader {
    fn new(file: std::fs::File, skip_rows: u64, chunk: usize) -> ChunkReader {
        ChunkReader {
            file,
            hasher: Sha256::new(),
            splitter: LeafSplitter::new(skip_rows),
            pending: Vec::new(),
            ends: Vec::new(),
            scanned: 0,
            offset: 0,
            next_leaf: 0,
            next_line: 1,
            end_of_file: false,
            chunk,
        }
    }

    /// The next chunks, as many as a window holds; none at the end of the file.
    fn window(&mut self) -> std::io::Result<Vec<Chunk>> {
        let mut chunks = Vec::new();
        while chunks.len() < WINDOW {
            let Some(chunk) = self.chunk(None)? else {
                break;
            };
            chunks.push(chunk);
        }
        Ok(chunks)
    }

    /// The next `leaves` leaves (fewer at the end of the file), or with `None` the
    /// next `chunk` bytes or so of them, up to a block of the tree
    /// ([`crate::seal::merkle::BLOCK`]) so that the core that hashes them can make the
    /// roots of their blocks. `None` at the end of the file.
    fn chunk(&mut self, leaves: Option<usize>) -> std::io::Result<Option<Chunk>> {
        loop {
            let cut = match leaves {
                Some(leaves) => (self.ends.len() >= leaves).then_some(leaves),
                None => {
                    // Past `chunk` bytes, then to the end of a block.
                    let past = self.ends.partition_point(|end| *end < self.chunk) + 1;
                    let block = crate::seal::merkle::BLOCK as u64;
                    let to_block = (block - (self.next_leaf + past as u64) % block) % block;
                    let cut = past + to_block as usize;
                    (cut <= self.ends.len()).then_some(cut)
                }
            };
            if let Some(cut) = cut {
                return Ok(Some(self.take(cut)));
            }
            if self.end_of_file {
                // A last piece without a line feed is a leaf when it is not empty.
                if self.scanned < self.pending.len() {
                    self.scanned = self.pending.len();
                    self.ends.push(self.scanned);
                }
                let cut = leaves.map_or(self.ends.len(), |l| l.min(self.ends.len()));
                return Ok((cut > 0).then(|| self.take(cut)));
            }
            self.fill()?;
        }
    }

    /// Reads the next piece of the file, hashes it and finds the leaves it ends.
    fn fill(&mut self) -> std::io::Result<()> {
        let filled = self.pending.len();
        let read = (&mut self.file).take(READ).read_to_end(&mut self.pending)?;
        if read == 0 {
            self.end_of_file = true;
            return Ok(());
        }
        self.hasher.update(&self.pending[filled..]);
        while let Some(len) = self.splitter.next_end(&self.pending[self.scanned..]) {
            self.scanned += len;
            self.ends.push(self.scanned);
        }
        Ok(())
    }

    /// Hands out the first `leaves` whole leaves read.
    fn take(&mut self, leaves: usize) -> Chunk {
        let len = self.ends[leaves - 1];
        let rest = self.pending.split_off(len);
        let bytes = std::mem::replace(&mut self.pending, rest);
        let ends: Vec<usize> = self.ends.drain(..leaves).collect();
        self.ends.iter_mut().for_each(|end| *end -= len);
        self.scanned -= len;
        let chunk = Chunk {
            offset: self.offset,
            first_leaf: self.next_leaf,
            first_line: self.next_line,
            ends,
            bytes,
        };
        self.offset += len as u64;
        self.next_leaf += leaves as u64;
        self.next_line += memchr::memchr_iter(b'\n', &chunk.bytes).count() as u64;
        chunk
    }

    /// The file's size and SHA-256, once it is read to its end.
    fn finish(self) -> (u64, [u8; 32]) {
        (self.offset, self.hasher.finalize().into())
    }
}

/// One chunk parsed: its part of the export, its leaves' hashes, rows and problems.
struct Parsed {
    /// Its leaves' ends, classes, lines and totals, as the export keeps them.
    file: ExportFile,
    leaves: LeafRun,
    rows: Rows,
    problems: Problems,
    /// The header's layout, when the chunk holds the header.
    layout: Option<Layout>,
    /// The first line beyond what a row's origin can number, if the chunk reaches it.
    overlong: Option<u64>,
}

/// The export so far: the chunks parsed, merged in file order.
struct Merged<'a> {
    spec: &'a ExportSpec<'a>,
    file: ExportFile,
    tree: TreeBuilder,
    rows: Rows,
    layout: Option<Layout>,
    /// Whether the file has more lines than a row's origin can number (reported once).
    overlong: bool,
}

impl<'a> Merged<'a> {
    fn new(spec: &'a ExportSpec<'a>) -> Merged<'a> {
        Merged {
            spec,
            file: ExportFile::new(spec.path.clone(), spec.source_index),
            tree: TreeBuilder::default(),
            rows: Rows::new(),
            layout: None,
            overlong: false,
        }
    }

    /// Adds the chunk after those merged so far.
    fn merge(&mut self, parsed: Parsed, problems: &mut Problems) {
        // A row's origin numbers leaves in 32 bits (model::RowOrigin), and a leaf is at
        // least a line: a file of more lines is refused, once, at the first beyond.
        if let Some(line) = parsed.overlong
            && !std::mem::replace(&mut self.overlong, true)
        {
            let message = "an export holds at most 4,294,967,295 lines: split it into several files of the same source";
            let at = Location::line(&self.spec.path, line);
            problems.error(at, ErrorKind::Rule(message.into()));
        }
        problems.absorb(parsed.problems);
        self.tree.append(parsed.leaves);
        self.file.append(parsed.file);
        self.rows.extend(parsed.rows);
        if let Some(layout) = parsed.layout {
            self.file.metric_columns = layout.metric_columns();
            self.layout = Some(layout);
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

impl Layout {
    /// The column of each metric, in the order of [`Metric`].
    fn metric_columns(&self) -> [Option<usize>; 4] {
        [self.impressions, self.clicks, self.conversions, self.spend]
    }
}

/// Turns the leaves of one chunk into classified leaves and delivery rows.
struct LeafParser<'a> {
    spec: &'a ExportSpec<'a>,
    /// The header's layout, for data leaves; `None` for good if it is unusable.
    layout: Option<&'a Layout>,
    /// The layout of the header this chunk holds, if it holds it.
    header_layout: Option<Layout>,
    /// The chunk's leaves so far: their ends, classes, lines and totals.
    file: ExportFile,
    leaves: LeafRun,
    /// The chunk's first leaf.
    first_leaf: u64,
    /// Line feeds before the current leaf.
    lines_before: u64,
    overlong: Option<u64>,
    /// The current record's fields.
    fields: Fields,
}

/// The unescaped fields of one leaf read as a CSV record (its line ending excluded).
struct Fields {
    csv: csv_core::Reader,
    /// The fields' bytes, one after another, and where each ends in them.
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    fn new() -> Fields {
        Fields {
            csv: csv_core::ReaderBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            bytes: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Unescapes the leaf's fields.
    fn split(&mut self, leaf: &[u8]) {
        let content = leaf.strip_suffix(b"\n").unwrap_or(leaf);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        self.csv.reset();
        self.bytes.clear();
        self.bytes.resize(content.len(), 0);
        self.ends.clear();
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
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
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
    /// Parses the leaves of `chunk`, its data leaves with the header's `layout`.
    fn parse(spec: &'a ExportSpec<'a>, layout: Option<&'a Layout>, chunk: &Chunk) -> Parsed {
        let mut parser = LeafParser {
            spec,
            layout,
            header_layout: None,
            file: ExportFile::new(spec.path.clone(), spec.source_index),
            leaves: LeafRun::new(chunk.first_leaf as usize),
            first_leaf: chunk.first_leaf,
            lines_before: chunk.first_line - 1,
            overlong: None,
            fields: Fields::new(),
        };
        let (mut rows, mut problems) = (Rows::new(), Problems::default());
        let mut start = 0;
        for &end in &chunk.ends {
            let leaf = &chunk.bytes[start..end];
            parser.leaf(leaf, chunk.offset + start as u64, &mut rows, &mut problems);
            start = end;
        }
        Parsed {
            file: parser.file,
            leaves: parser.leaves,
            rows,
            problems,
            layout: parser.header_layout,
            overlong: parser.overlong,
        }
    }

    fn leaf(&mut self, leaf: &[u8], start: u64, rows: &mut Rows, problems: &mut Problems) {
        let index = self.first_leaf + self.file.leaf_ends.len() as u64;
        let line = self.lines_before + 1;
        let lines = memchr::memchr_iter(b'\n', leaf).count() as u64;
        self.lines_before += lines;
        self.file.add_lines(index, line, lines);
        // A row's origin numbers leaves in 32 bits (model::RowOrigin), and a leaf is at
        // least a line: the first line beyond, which refuses the file.
        if line.max(self.lines_before) > u64::from(u32::MAX) && self.overlong.is_none() {
            self.overlong = Some(line.max(u64::from(u32::MAX) + 1));
        }
        self.file.leaf_ends.push(start + leaf.len() as u64);
        self.leaves.push(leaf_hash(leaf));
        let class = if index < self.spec.source.skip_rows {
            LeafClass::Preamble
        } else if index == self.spec.source.skip_rows {
            self.fields.split(leaf);
            self.header_layout = self.header(line, problems);
            LeafClass::Header
        } else {
            self.fields.split(leaf);
            if (0..self.fields.len()).all(|i| self.field(i).trim_ascii().is_empty()) {
                LeafClass::Blank
            } else if self.is_total() {
                self.file.total_lines.push(line);
                LeafClass::Total
            } else {
                // Beyond 32 bits the file is refused (`overlong`).
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
        let layout = self.layout.or(self.header_layout.as_ref())?;
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
        let grain: Vec<_> = layout.grain.iter().map(|c| text(*c)).collect();
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
        let count = |value: Option<Decimal>| value.and_then(|v| v.to_u64());
        let spend_value = metric(layout.spend, spend, false);
        let metrics = Metrics::new(
            count(metric(layout.impressions, impressions, true)),
            count(metric(layout.clicks, clicks, true)),
            metric(layout.conversions, conversions, false),
            spend_value,
        );
        let currency = match (layout.currency, currency) {
            (Some(column), Some(code)) if !code.is_empty() => {
                let found = Currency::from_code(code);
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
            grain.into_iter().collect::<Option<Vec<&str>>>(),
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
    /// reported; `None` where [`Cells::metrics`] is. A blank cell, or one of plain
    /// digits, the common ones, is written from its text, without parsing it or
    /// formatting a decimal.
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
        if let Some(value) = self.metrics()?.get(metric) {
            use std::fmt::Write;
            let _ = write!(out, "{}", value.normalize());
        }
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
/// their leaves, every block read checked against the tree kept when the export was
/// read ([`read_blocks`]), so they are the cells that were summed: `each(index, cells)`
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
    let mut fields = Fields::new();
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
        let read = read_blocks(
            &dir.join(&export.path),
            export,
            &leaves,
            |leaf, _, bytes| {
                let mut split = false;
                while let Some(index) = next.next_if(|i| origin(i).leaf as usize == leaf) {
                    if !std::mem::replace(&mut split, true) {
                        fields.split(bytes);
                    }
                    let cells = Cells {
                        fields: &fields,
                        columns: &export.metric_columns,
                        separator,
                    };
                    if each(*index, &cells).is_none() {
                        unreadable = Some(export.line(leaf));
                    }
                }
            },
        );
        read.map_err(failed)?;
        if let Some(line) = unreadable {
            let message = format!(
                "line {line} no longer reads as the row it was (a bug in tallyseal; please report it)"
            );
            return Err(failed(std::io::Error::other(message)));
        }
    }
    Ok(())
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

    /// An export of `text` as the source `source`, read in chunks of about `chunk` bytes:
    /// what the period keeps of it, written out whole (the rows' sums looked up by each
    /// row's key), and its problems.
    fn read_text(text: &[u8], source: &SourceConfig, chunk: usize) -> (String, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.csv"), text).unwrap();
        let spec = ExportSpec {
            dir: dir.path(),
            path: "x.csv".into(),
            source_index: 0,
            source,
            period: Period::parse("2026-10").unwrap(),
            export_index: 0,
        };
        let mut problems = Problems::default();
        let export = read_in_chunks(spec, chunk, &mut problems).unwrap();
        let (file, rows) = (&export.file, &export.rows);
        let mut kept = format!(
            "{} {:?} {:?} {:?} {:?} {:?} {:?} {} {:?}\n",
            file.size,
            file.sha256,
            file.leaf_ends,
            file.leaf_classes,
            file.total_lines,
            file.line_shifts,
            file.metric_columns,
            file.tree.len(),
            file.tree.root(),
        );
        for row in rows {
            let (id, grain) = (rows.source_campaign_id(row), rows.grain(row));
            let sum = rows.totals(&row.day_key());
            kept += &format!("{row:?} {id} {grain:?} {sum:?}\n");
        }
        let mut found: Vec<String> = problems.errors.iter().map(|e| e.to_string()).collect();
        found.push(format!("{} suppressed", problems.suppressed));
        (kept, found)
    }

    /// One cell of `value`'s kind, now and then written oddly: quoted (with a comma or
    /// a line break inside), blank or not a value at all.
    fn cell(kind: &str, pick: u32) -> String {
        let odd = pick % 13;
        match kind {
            "campaign" => format!("c{}", pick % 5),
            "date" if odd == 1 => "2026-11-01".into(),
            "date" => format!("2026-10-{:02}", 1 + pick % 31),
            "grain" if odd == 2 => format!("\"g{pick},\n{}\"", pick % 3),
            "grain" => format!("g{}", pick % 7),
            "count" if odd == 3 => format!("{},{:03}", 1 + pick % 9, pick % 1000),
            "count" if odd == 4 => "x".into(),
            "count" => (pick % 5000).to_string(),
            "spend" if odd == 5 => String::new(),
            "spend" => format!("{}.{:02}", pick % 900, pick % 100),
            _ if odd == 6 => "GBP".into(),
            _ => "EUR".into(),
        }
    }

    proptest::proptest! {
        /// However an export is cut into chunks (each parsed on its own core), what is
        /// kept of it and the problems found are those of reading it whole: the same
        /// leaves, lines, tree, rows, sums and messages, in the same order.
        #[test]
        fn chunks_read_as_the_whole_file(
            skip_rows in 0u64..3,
            lines in proptest::collection::vec(
                (0u32..10, proptest::collection::vec(0u32..100_000, 7)), 0..120
            ),
            crlf in proptest::bool::ANY,
            last_line_feed in proptest::bool::ANY,
            chunk in 1usize..400,
        ) {
            let source = SourceConfig {
                name: "x".into(),
                files: "*.csv".into(),
                matcher: globset::Glob::new("*.csv").unwrap().compile_matcher(),
                kind: crate::model::SourceKind::Platform,
                skip_rows,
                footer_prefix: Some("Total".into()),
                thousands_separator: Some(','),
                grain: vec!["ad".into()],
                columns: crate::model::SourceColumns {
                    campaign: "Campaign".into(),
                    date: "Day".into(),
                    impressions: Some("Impr".into()),
                    clicks: Some("Clicks".into()),
                    conversions: None,
                    spend: Some("Cost".into()),
                    currency: Some("Currency".into()),
                },
                currency: None,
            };
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            for i in 0..skip_rows {
                text += &format!("Report {i}, \"quoted{end}\"{end}");
            }
            text += &format!("Campaign,Day,ad,Impr,Clicks,Cost,Currency{end}");
            for (shape, picks) in &lines {
                let row: Vec<String> = ["campaign", "date", "grain", "count", "count", "spend", "currency"]
                    .iter()
                    .zip(picks)
                    .map(|(kind, pick)| cell(kind, *pick))
                    .collect();
                text += &match shape {
                    0 => String::new(),
                    1 => ",,,,,,".into(),
                    2 => format!("Total,,,{},,,", picks[0]),
                    3 => row[..5].join(","),
                    _ => row.join(","),
                };
                text += end;
            }
            if !last_line_feed {
                text.truncate(text.len() - end.len());
            }
            let whole = read_text(text.as_bytes(), &source, usize::MAX);
            proptest::prop_assert_eq!(&read_text(text.as_bytes(), &source, chunk), &whole);
            proptest::prop_assert_eq!(&read_text(text.as_bytes(), &source, 1), &whole);
        }
    }

    proptest::proptest! {
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
