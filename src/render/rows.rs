//! `lines/<line_id>.csv`: the records behind one invoice line, as a download, in the
//! exact machine form (ISO dates, plain decimals). Delivery lines list their delivery
//! rows with the file and line each came from and whether it was billed; hourly lines
//! their timesheet entries; milestone lines their milestones. A flat fee has no rows.

use crate::ingest::{Cells, ReadBackError, read_back};
use crate::invoice::LineBill;
use crate::model::{Metric, PeriodData, PricingModel, Project, SourceKind};

/// Whether the line has a CSV of rows.
pub fn has_rows(line: &LineBill) -> bool {
    line.model != PricingModel::Flat
}

/// The CSV of the line's rows, or `None` for a flat fee. Delivery rows' metrics are
/// read back from their exports' leaves: a row in memory does not keep them.
pub fn line_csv(
    project: &Project,
    data: &PeriodData,
    line: &LineBill,
) -> Result<Option<Vec<u8>>, ReadBackError> {
    if !has_rows(line) {
        return Ok(None);
    }
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    match line.model {
        PricingModel::Hourly => timesheets(&mut out, data, line).expect(IN_MEMORY),
        PricingModel::Milestone => milestones(&mut out, line).expect(IN_MEMORY),
        _ => delivery(&mut out, project, data, line)?,
    };
    Ok(Some(out.into_inner().expect(IN_MEMORY)))
}

const IN_MEMORY: &str = "a CSV written to memory cannot fail";

type Writer = csv::Writer<Vec<u8>>;

fn delivery(
    out: &mut Writer,
    project: &Project,
    data: &PeriodData,
    line: &LineBill,
) -> Result<(), ReadBackError> {
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
    let mut rows: Vec<(u32, &str)> = line.rows.iter().map(|i| (*i, "")).collect();
    rows.extend(line.out_of_flight.iter().map(|i| (*i, "out_of_flight")));
    // Rows are numbered in file order (by export, then leaf).
    rows.sort_by_key(|(i, _)| *i);
    // One row after another through one buffer: millions of rows, no string each.
    let files: Vec<String> = data
        .exports
        .iter()
        .map(|e| crate::error::display_path(&e.path))
        .collect();
    let mut cell = String::new();
    let mut field = |out: &mut Writer, value: std::fmt::Arguments| {
        use std::fmt::Write;
        cell.clear();
        let _ = cell.write_fmt(value);
        out.write_field(&cell)
    };
    let indices: Vec<u32> = rows.iter().map(|(i, _)| *i).collect();
    // Rows come in the order of `rows`: each one's reason is the next.
    let mut reasons = rows.iter().peekable();
    let (mut value, mut number) = (String::new(), itoa::Buffer::new());
    // The last date written: rows of a line come day after day.
    let mut day = (chrono::NaiveDate::MIN, String::new());
    // `None` when the row no longer reads (the CSV is then dropped with an error).
    let mut write = |out: &mut Writer, index: u32, cells: &Cells| -> csv::Result<Option<()>> {
        while reasons.next_if(|(i, _)| *i < index).is_some() {}
        let reason = reasons
            .next_if(|(i, _)| *i == index)
            .map_or("", |(_, r)| *r);
        let (row, origin) = (&data.rows[index], data.rows.origin(index));
        let source = &project.config.sources[usize::from(row.source)];
        // What the line counts: its metric from every row for cpm/cpc/cpa (basis and
        // other are both shown on the page), platform spend for media_pct.
        let billed = if !reason.is_empty() {
            reason
        } else if line.model == PricingModel::MediaPct && source.kind != SourceKind::Platform {
            "no (ad server spend is not billed)"
        } else {
            "yes"
        };
        out.write_field(&files[origin.export()])?;
        out.write_field(number.format(data.line(origin)))?;
        out.write_field(&source.name)?;
        out.write_field(source.kind.as_str())?;
        if day.0 != row.date {
            day = (row.date, row.date.to_string());
        }
        out.write_field(&day.1)?;
        out.write_field(&**data.rows.source_campaign_id(row))?;
        match &data.rows.grain(row)[..] {
            [one] => out.write_field(&**one)?,
            grain => field(out, format_args!("{}", Joined(grain)))?,
        }
        for metric in [
            Metric::Impressions,
            Metric::Clicks,
            Metric::Conversions,
            Metric::Spend,
        ] {
            value.clear();
            if cells.plain(metric, &mut value).is_none() {
                return Ok(None);
            }
            out.write_field(&value)?;
        }
        out.write_field(row.currency.map(|c| c.code()).unwrap_or_default())?;
        out.write_field(billed)?;
        out.write_record(None::<&[u8]>).map(Some)
    };
    let (dir, sources) = (&project.dir, &project.config.sources);
    read_back(dir, data, sources, &indices, |index, cells| {
        write(out, index, cells).expect(IN_MEMORY)
    })?;
    Ok(())
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
