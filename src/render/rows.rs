//! `lines/<line_id>.csv`: the records behind one invoice line, as a download, in the
//! exact machine form (ISO dates, plain decimals). Delivery lines list their delivery
//! rows with the file and line each came from and whether it was billed; hourly lines
//! their timesheet entries; milestone lines their milestones. A flat fee has no rows.

use crate::ingest::Cells;
use crate::invoice::LineBill;
use crate::model::{Metric, PeriodData, PricingModel, Project, SourceKind};
use chrono::NaiveDate;

/// Whether the line has a CSV of rows.
pub fn has_rows(line: &LineBill) -> bool {
    line.model != PricingModel::Flat
}

/// Whether the line's CSV lists delivery rows, read back from the exports
/// ([`DeliveryCsv`]), rather than records kept in memory ([`records_csv`]).
pub fn lists_delivery(line: &LineBill) -> bool {
    has_rows(line) && !matches!(line.model, PricingModel::Hourly | PricingModel::Milestone)
}

/// The CSV of an hourly line's timesheet entries or of a milestone line's milestones;
/// `None` for any other line.
pub fn records_csv(data: &PeriodData, line: &LineBill) -> Option<Vec<u8>> {
    let mut out = writer();
    match line.model {
        PricingModel::Hourly => timesheets(&mut out, data, line).expect(IN_MEMORY),
        PricingModel::Milestone => milestones(&mut out, line).expect(IN_MEMORY),
        _ => return None,
    };
    Some(out.into_inner().expect(IN_MEMORY))
}

const IN_MEMORY: &str = "a CSV written to memory cannot fail";

type Writer = csv::Writer<Vec<u8>>;

fn writer() -> Writer {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new())
}

/// The CSV of a delivery line's rows, written one row at a time, in file order, as
/// their leaves are read back from the exports (a row in memory keeps no metrics): its
/// rows on flight days and, marked `out_of_flight`, those of its campaign outside every
/// line's flight.
pub struct DeliveryCsv<'a> {
    project: &'a Project,
    data: &'a PeriodData,
    line: &'a LineBill,
    /// Each export's path as shown, as the row's first field (quoted if need be,
    /// with its comma).
    files: Vec<Vec<u8>>,
    /// Each source's name and kind, as the row's third and fourth fields.
    sources: Vec<Vec<u8>>,
    /// The rows to write, in file order, each with why it is not billed (`""`: it is).
    rows: Vec<(u32, &'static str)>,
    /// How many are written.
    written: usize,
    out: CsvOut,
    // One row after another through these: millions of rows, no string each.
    value: String,
    number: itoa::Buffer,
    /// The last date written: rows of a line come day after day.
    day: (NaiveDate, String),
    /// The last source campaign id written (its index in the rows' table), as written:
    /// a line's rows are nearly always of one.
    campaign: Option<(u32, Vec<u8>)>,
}

impl<'a> DeliveryCsv<'a> {
    /// `files`: each export's path as shown ([`crate::error::display_path`]).
    pub fn new(
        project: &'a Project,
        data: &'a PeriodData,
        line: &'a LineBill,
        files: &'a [String],
    ) -> DeliveryCsv<'a> {
        let mut out = writer();
        let header = [
            "file",
            "line",
            "source",
            "kind",
            "date",
            "source_campaign_id",
            "grain",
            "impressions",
            "clicks",
            "conversions",
            "spend",
            "currency",
            "billed",
        ];
        out.write_record(header).expect(IN_MEMORY);
        let mut out = CsvOut::after(out.into_inner().expect(IN_MEMORY));
        let files = files
            .iter()
            .map(|file| out.written(|out| out.field(file)))
            .collect();
        let sources = (project.config.sources.iter())
            .map(|source| {
                out.written(|out| {
                    out.field(&source.name);
                    out.field(source.kind.as_str());
                })
            })
            .collect();
        let mut rows: Vec<(u32, &str)> = line.rows.iter().map(|i| (*i, "")).collect();
        rows.extend(line.out_of_flight.iter().map(|i| (*i, "out_of_flight")));
        // Rows are numbered in file order (by export, then leaf).
        rows.sort_by_key(|(i, _)| *i);
        DeliveryCsv {
            project,
            data,
            line,
            files,
            sources,
            rows,
            written: 0,
            out,
            value: String::new(),
            number: itoa::Buffer::new(),
            day: (NaiveDate::MIN, String::new()),
            campaign: None,
        }
    }

    /// The line whose rows the CSV lists.
    pub fn line_id(&self) -> &str {
        &self.line.line_id
    }

    /// The rows the CSV lists, in file order: each is to be written, in this order.
    pub fn rows(&self) -> impl Iterator<Item = u32> + '_ {
        self.rows.iter().map(|(i, _)| *i)
    }

    /// Writes the next row, `index`, whose cells are `cells`; `None` when they no
    /// longer read as they did, or it is not the next row (the CSV is then dropped
    /// with an error).
    pub fn row(&mut self, index: u32, cells: &Cells) -> Option<()> {
        // Not the next row: a bug, which fails the CSV as an unreadable row does.
        let (_, reason) = *self
            .rows
            .get(self.written)
            .filter(|(next, _)| *next == index)?;
        self.written += 1;
        self.write(index, reason, cells)
    }

    fn write(&mut self, index: u32, reason: &str, cells: &Cells) -> Option<()> {
        let (data, out) = (self.data, &mut self.out);
        let (row, origin) = (&data.rows[index], data.rows.origin(index));
        let source = &self.project.config.sources[usize::from(row.source)];
        // What the line counts: its metric from every row for cpm/cpc/cpa (basis and
        // other are both shown on the page), platform spend for media_pct.
        let billed = if !reason.is_empty() {
            reason
        } else if self.line.model == PricingModel::MediaPct && source.kind != SourceKind::Platform {
            "no (ad server spend is not billed)"
        } else {
            "yes"
        };
        out.raw(&self.files[origin.export()]);
        out.plain(self.number.format(data.line(origin)));
        out.raw(&self.sources[usize::from(row.source)]);
        if self.day.0 != row.date {
            self.day = (row.date, row.date.to_string());
        }
        out.plain(&self.day.1);
        match &self.campaign {
            Some((id, written)) if *id == row.source_campaign_id => out.raw(written),
            _ => {
                let id = data.rows.source_campaign_id(row);
                let written = out.written(|out| out.field(id));
                out.raw(&written);
                self.campaign = Some((row.source_campaign_id, written));
            }
        }
        match &data.rows.grain(row)[..] {
            [one] => out.field(one),
            grain => {
                use std::fmt::Write;
                self.value.clear();
                let _ = write!(self.value, "{}", Joined(grain));
                out.field(&self.value);
            }
        }
        for metric in [
            Metric::Impressions,
            Metric::Clicks,
            Metric::Conversions,
            Metric::Spend,
        ] {
            self.value.clear();
            cells.plain(metric, &mut self.value)?;
            out.plain(&self.value);
        }
        out.plain(row.currency.map(|c| c.code()).unwrap_or_default());
        out.plain(billed);
        out.end_row();
        Some(())
    }

    /// Whether every row is written.
    pub fn is_complete(&self) -> bool {
        self.written == self.rows.len()
    }

    /// The CSV, in pieces to be written one after another.
    pub fn finish(self) -> Vec<Vec<u8>> {
        self.out.finish()
    }
}

/// A CSV's rows, written a field at a time, into pieces of whole rows: a large CSV
/// grows by a piece at a time, never copied to grow.
struct CsvOut {
    /// The pieces filled, then the one being written.
    done: Vec<Vec<u8>>,
    bytes: Vec<u8>,
    /// Whether a field needs quotes, as [`writer`] decides it; quotes it if so.
    csv: csv_core::Writer,
}

/// Bytes a piece of a CSV holds before the next is begun, after a whole row.
const PIECE: usize = 1 << 16;

impl CsvOut {
    /// Rows to come after `bytes`.
    fn after(bytes: Vec<u8>) -> CsvOut {
        let csv = csv_core::WriterBuilder::new()
            .terminator(csv_core::Terminator::Any(b'\n'))
            .build();
        CsvOut {
            done: Vec::new(),
            bytes,
            csv,
        }
    }

    /// The CSV, in pieces to be written one after another.
    fn finish(mut self) -> Vec<Vec<u8>> {
        self.done.push(self.bytes);
        self.done
    }

    /// Writes `value` and a comma: as it is when it needs no quotes (nearly always),
    /// else quoted as [`writer`] quotes it.
    fn field(&mut self, value: &str) {
        let value = value.as_bytes();
        if !self.csv.should_quote(value) {
            self.bytes.extend_from_slice(value);
        } else {
            let (mut input, mut buffer) = (value, [0; 256]);
            loop {
                let (result, read, wrote) = self.csv.field(input, &mut buffer);
                self.bytes.extend_from_slice(&buffer[..wrote]);
                input = &input[read..];
                if result == csv_core::WriteResult::InputEmpty {
                    break;
                }
            }
            loop {
                let (result, wrote) = self.csv.finish(&mut buffer);
                self.bytes.extend_from_slice(&buffer[..wrote]);
                if result == csv_core::WriteResult::InputEmpty {
                    break;
                }
            }
        }
        self.bytes.push(b',');
    }

    /// Writes `value` and a comma, as it is: a value tallyseal formats (a number, an
    /// ISO date, a currency code, a reason of its own), which never needs quotes.
    fn plain(&mut self, value: &str) {
        debug_assert!(!self.csv.should_quote(value.as_bytes()), "{value}");
        self.bytes.extend_from_slice(value.as_bytes());
        self.bytes.push(b',');
    }

    /// Writes `fields`, written before (by [`CsvOut::written`]).
    fn raw(&mut self, fields: &[u8]) {
        self.bytes.extend_from_slice(fields);
    }

    /// The bytes `write` writes, to be written again by [`CsvOut::raw`].
    fn written(&mut self, write: impl FnOnce(&mut CsvOut)) -> Vec<u8> {
        let start = self.bytes.len();
        write(self);
        self.bytes.drain(start..).collect()
    }

    /// Ends the row: its last field's comma becomes the line's end.
    fn end_row(&mut self) {
        if let Some(last) = self.bytes.last_mut() {
            *last = b'\n';
        }
        if self.bytes.len() >= PIECE {
            let next = Vec::with_capacity(self.bytes.capacity());
            self.done.push(std::mem::replace(&mut self.bytes, next));
        }
    }
}

/// Grain values as shown: joined by ` / `.
struct Joined<'a>(&'a [std::sync::Arc<str>]);

impl std::fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        for (i, value) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" / ")?;
            }
            f.write_str(value)?;
        }
        Ok(())
    }
}

fn timesheets(out: &mut Writer, data: &PeriodData, line: &LineBill) -> csv::Result<()> {
    out.write_record(["file", "line", "date", "person", "hours", "description"])?;
    for entry in line.timesheets.iter().map(|i| &data.timesheets[*i]) {
        out.write_record([
            crate::error::display_path(&entry.at.file),
            entry.at.line.map(|l| l.to_string()).unwrap_or_default(),
            entry.date.to_string(),
            entry.person.clone(),
            entry.hours.normalize().to_string(),
            entry.description.clone().unwrap_or_default(),
        ])?;
    }
    Ok(())
}

fn milestones(out: &mut Writer, line: &LineBill) -> csv::Result<()> {
    out.write_record([
        "file",
        "line",
        "milestone_id",
        "description",
        "amount",
        "accepted_on",
        "accepted_by",
        "acceptance_ref",
    ])?;
    for m in &line.milestones {
        out.write_record([
            crate::error::display_path(&m.at.file),
            m.at.line.map(|l| l.to_string()).unwrap_or_default(),
            m.milestone_id.clone(),
            m.description.clone(),
            m.amount.to_string(),
            m.accepted_on.map(|d| d.to_string()).unwrap_or_default(),
            m.accepted_by.clone().unwrap_or_default(),
            m.acceptance_ref.clone().unwrap_or_default(),
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// Rows of two fields and more are written as the CSV writer writes them,
        /// quotes, commas and line ends included.
        #[test]
        fn rows_are_written_as_the_csv_writer_writes_them(
            rows in (2..6usize).prop_flat_map(|width| proptest::collection::vec(
                proptest::collection::vec("[a-c ,\"\r\n€]{0,5}", width),
                1..4,
            ))
        ) {
            let mut out = CsvOut::after(Vec::new());
            let mut csv = writer();
            for row in &rows {
                for value in row {
                    out.field(value);
                }
                out.end_row();
                csv.write_record(row).unwrap();
            }
            let expected = csv.into_inner().unwrap();
            proptest::prop_assert_eq!(
                String::from_utf8(out.finish().concat()).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }
}
