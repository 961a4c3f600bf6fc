//! `lines/<line_id>.csv`: the records behind one invoice line, as a download, in the
//! exact machine form (ISO dates, plain decimals). Delivery lines list their delivery
//! rows with the file and line each came from and whether it was billed; hourly lines
//! their timesheet entries; milestone lines their milestones. A flat fee has no rows.

use crate::invoice::LineBill;
use crate::model::{PeriodData, PricingModel, Project, SourceKind};
use rust_decimal::Decimal;

fn text(value: Option<Decimal>) -> String {
    value.map(|v| v.normalize().to_string()).unwrap_or_default()
}

/// Whether the line has a CSV of rows.
pub fn has_rows(line: &LineBill) -> bool {
    line.model != PricingModel::Flat
}

/// The CSV of the line's rows, or `None` for a flat fee.
pub fn line_csv(project: &Project, data: &PeriodData, line: &LineBill) -> Option<Vec<u8>> {
    if !has_rows(line) {
        return None;
    }
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let written = match line.model {
        PricingModel::Hourly => timesheets(&mut out, data, line),
        PricingModel::Milestone => milestones(&mut out, line),
        _ => delivery(&mut out, project, data, line),
    };
    written.expect("a CSV written to memory cannot fail");
    Some(
        out.into_inner()
            .expect("a CSV written to memory cannot fail"),
    )
}

type Writer = csv::Writer<Vec<u8>>;

fn delivery(
    out: &mut Writer,
    project: &Project,
    data: &PeriodData,
    line: &LineBill,
) -> csv::Result<()> {
    out.write_record([
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
    ])?;
    let mut rows: Vec<(usize, &str)> = line.rows.iter().map(|i| (*i, "")).collect();
    rows.extend(line.out_of_flight.iter().map(|i| (*i, "out_of_flight")));
    rows.sort_by_key(|(i, _)| {
        let origin = &data.rows[*i].origin;
        (origin.export, origin.line)
    });
    for (index, reason) in rows {
        let row = &data.rows[index];
        let source = &project.config.sources[row.source];
        // What the line counts: its metric from every row for cpm/cpc/cpa (basis and
        // other are both shown on the page), platform spend for media_pct.
        let billed = if !reason.is_empty() {
            reason
        } else if line.model == PricingModel::MediaPct && source.kind != SourceKind::Platform {
            "no (ad server spend is not billed)"
        } else {
            "yes"
        };
        out.write_record([
            crate::error::display_path(&data.exports[row.origin.export].path),
            row.origin.line.to_string(),
            source.name.clone(),
            source.kind.as_str().to_owned(),
            row.date.to_string(),
            row.source_campaign_id.to_string(),
            row.grain.join(" / "),
            text(row.metrics.impressions),
            text(row.metrics.clicks),
            text(row.metrics.conversions),
            text(row.metrics.spend),
            row.currency
                .map(|c| c.code().to_owned())
                .unwrap_or_default(),
            billed.to_owned(),
        ])?;
    }
    Ok(())
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
