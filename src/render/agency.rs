//! The agency's internal view: every client's status, totals, checklist failures,
//! aging and DSO; per period the agency checklist, the exceptions and the conservation
//! report. It may show every client, so it is written under `agency/`, never inside a
//! client's portal.

use super::LISTED;
use super::format::{self, money};
use super::portal::{ClientPeriod, step_rows};
use super::{Frame, Link, Output, Page, RenderError, Site, words};
use crate::checklist::{StepStatus, row_at};
use crate::model::{Currency, PeriodData, RowClass};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Serialize)]
struct IndexPage {
    clients: Vec<ClientRow>,
    periods: Vec<PeriodRow>,
}

#[derive(Serialize)]
struct ClientRow {
    client_id: String,
    name: String,
    currency: &'static str,
    /// The client's portal, when it has one (a bundle in some period).
    portal: Option<String>,
    period: Option<String>,
    document: Option<String>,
    document_href: Option<String>,
    total: Option<String>,
    status: Option<&'static str>,
    status_label: Option<&'static str>,
    ar: Option<String>,
    overdue: Option<String>,
    /// Open balances by age: `1–30 days overdue: CHF 42,427.35`.
    aging: Vec<String>,
    dso: Option<String>,
    failures: Vec<String>,
    checklist: &'static str,
    checklist_label: String,
}

#[derive(Serialize)]
struct PeriodRow {
    label: String,
    href: String,
    documents: usize,
    totals: Vec<String>,
    unexplained: usize,
    unmapped: usize,
    duplicates: usize,
    out_of_flight: usize,
    failing_clients: usize,
}

fn client_row(client: &crate::model::Client, periods: &[ClientPeriod]) -> ClientRow {
    let latest: Option<&ClientPeriod> = periods.last();
    let portal = format!("../clients/{}/", client.client_id);
    let currency = client.currency;
    let overdue: Option<Decimal> = latest.map(|p| {
        p.statement
            .documents
            .iter()
            .filter(|d| d.bucket.is_some())
            .map(|d| d.balance)
            .sum()
    });
    let state = latest.and_then(|p| {
        let invoice = p.invoice?;
        p.statement
            .documents
            .iter()
            .find(|d| d.number == invoice.number)
    });
    let count = |status| {
        latest.map_or(0, |p| {
            p.checklist
                .steps
                .iter()
                .filter(|s| s.status == status)
                .count()
        })
    };
    let checklist = latest.map_or(StepStatus::Pass, |p| p.checklist.status());
    ClientRow {
        client_id: client.client_id.clone(),
        name: client.name.clone(),
        currency: currency.code(),
        portal: latest.map(|_| format!("{portal}index.html")),
        period: latest.map(|p| format::period(p.data.period)),
        document: latest.and_then(|p| p.invoice).map(|i| i.number.clone()),
        document_href: latest
            .and_then(|p| p.invoice.map(|_| p))
            .map(|p| format!("{portal}{}/invoice.html", p.data.period)),
        total: latest
            .and_then(|p| p.invoice)
            .map(|i| money(i.total, i.currency)),
        status: state.map(|s| s.status.as_str()),
        status_label: state.map(|s| format::status(s.status.as_str())),
        ar: latest.map(|p| money(p.statement.ar, currency)),
        overdue: overdue.map(|o| money(o, currency)),
        aging: latest
            .map(|p| {
                super::portal::aging(p.statement)
                    .into_iter()
                    .map(|row| format!("{}: {}", row.label, row.amount))
                    .collect()
            })
            .unwrap_or_default(),
        dso: latest.and_then(|p| p.statement.dso).map(format::days),
        failures: latest
            .map(|p| {
                p.checklist
                    .steps
                    .iter()
                    .filter(|s| s.status == StepStatus::Fail)
                    .map(|s| words::step(&s.id).to_owned())
                    .collect()
            })
            .unwrap_or_default(),
        checklist: checklist.as_str(),
        checklist_label: match checklist {
            StepStatus::Fail => format!("{} failing", count(StepStatus::Fail)),
            StepStatus::Warn => format!("{} to watch", count(StepStatus::Warn)),
            StepStatus::Pass => "Pass".to_owned(),
        },
    }
}

fn period_row(site: &Site, index: usize) -> PeriodRow {
    let data = &site.project.periods[index];
    let books = &site.books[index];
    let review = &site.reviews[index];
    let mut totals: BTreeMap<Currency, Decimal> = BTreeMap::new();
    for invoice in &books.invoices {
        *totals.entry(invoice.currency).or_default() += invoice.total;
    }
    PeriodRow {
        label: format::period(data.period),
        href: format!("{}/index.html", data.period),
        documents: books.invoices.len(),
        totals: totals
            .into_iter()
            .map(|(currency, total)| money(total, currency))
            .collect(),
        unexplained: review
            .variances
            .variances
            .iter()
            .filter(|v| v.explained_by.is_none())
            .count(),
        // From the conservation report, which sealed periods carry as issued.
        unmapped: review.conservation.iter().map(|c| c.unmapped).sum(),
        duplicates: review.conservation.iter().map(|c| c.duplicate).sum(),
        out_of_flight: review.conservation.iter().map(|c| c.out_of_flight).sum(),
        failing_clients: review
            .checklists
            .iter()
            .filter(|c| c.steps.iter().any(|s| s.status == StepStatus::Fail))
            .count(),
    }
}

#[derive(Serialize)]
struct PeriodPage {
    label: String,
    clients: Vec<PeriodClient>,
    steps: Vec<super::portal::StepRow>,
    unmapped: Listed<RowItem>,
    duplicates: Listed<RowItem>,
    out_of_flight: Listed<RowItem>,
    totals: Listed<String>,
    variances: Vec<VarianceItem>,
    single_source: Vec<String>,
    conservation: Vec<ConservationRow>,
}

/// A list shown up to [`LISTED`] items (the rest are in `exceptions.json`), with how many
/// there are in all.
#[derive(Serialize)]
struct Listed<T: Serialize> {
    items: Vec<T>,
    count: usize,
    more: usize,
}

fn listed<T: Serialize>(all: impl ExactSizeIterator<Item = T>) -> Listed<T> {
    let count = all.len();
    let items: Vec<T> = all.take(LISTED).collect();
    Listed {
        more: count - items.len(),
        items,
        count,
    }
}

#[derive(Serialize)]
struct PeriodClient {
    client_id: String,
    name: String,
    href: String,
    document: Option<String>,
    document_href: Option<String>,
    total: Option<String>,
    checklist: &'static str,
    checklist_label: &'static str,
    checklist_href: String,
}

#[derive(Serialize)]
struct RowItem {
    at: String,
    date: String,
    source_campaign_id: String,
    note: Option<String>,
}

#[derive(Serialize)]
struct VarianceItem {
    client_id: String,
    line_id: String,
    href: String,
    cause: &'static str,
    summary: String,
    explained: bool,
}

/// A row of the conservation table: the counts as `exceptions.json` writes them, and
/// whether they balance.
#[derive(Serialize)]
struct ConservationRow {
    #[serde(flatten)]
    counts: super::json::ConservationJson,
    balanced: bool,
}

fn row_item(data: &PeriodData, index: u32) -> RowItem {
    let row = &data.rows[index];
    RowItem {
        at: row_at(data, index),
        date: format::date(row.date),
        source_campaign_id: data.rows.source_campaign_id(row).to_string(),
        note: match row.class {
            RowClass::Duplicate { of } => Some(format!("same as {}", row_at(data, of))),
            _ => None,
        },
    }
}

fn period_page(site: &Site, index: usize) -> PeriodPage {
    let data = &site.project.periods[index];
    let books = &site.books[index];
    let review = &site.reviews[index];
    let period = data.period.to_string();
    let client_page =
        |client_id: &str, page: &str| format!("../../clients/{client_id}/{period}/{page}");
    let targets: BTreeMap<String, String> = site.statements[index]
        .iter()
        .map(|s| {
            (
                s.client_id.clone(),
                client_page(&s.client_id, "checklist.html"),
            )
        })
        .collect();
    let of_class = |want: fn(&RowClass) -> bool| -> Vec<u32> {
        (data.rows.indexed())
            .filter(|(_, row)| want(&row.class))
            .map(|(i, _)| i)
            .collect()
    };
    let unmapped = of_class(|c| *c == RowClass::Unmapped);
    let duplicates = of_class(|c| matches!(c, RowClass::Duplicate { .. }));
    let totals: Vec<String> = data
        .exports
        .iter()
        .flat_map(|e| {
            e.total_lines
                .iter()
                .map(move |line| crate::error::Location::line(&e.path, *line).file_line())
        })
        .collect();
    PeriodPage {
        label: format::period(data.period),
        clients: site.statements[index]
            .iter()
            .zip(&review.checklists)
            .map(|(statement, checklist)| {
                let invoice = books
                    .invoices
                    .iter()
                    .find(|i| i.client_id == statement.client_id);
                let worst = checklist.status();
                PeriodClient {
                    client_id: statement.client_id.clone(),
                    name: site
                        .project
                        .client(&statement.client_id)
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                    href: client_page(&statement.client_id, "index.html"),
                    document: invoice.map(|i| i.number.clone()),
                    document_href: invoice
                        .map(|_| client_page(&statement.client_id, "invoice.html")),
                    total: invoice.map(|i| money(i.total, i.currency)),
                    checklist: worst.as_str(),
                    checklist_label: format::status(worst.as_str()),
                    checklist_href: client_page(&statement.client_id, "checklist.html"),
                }
            })
            .collect(),
        steps: step_rows(&review.agency, &targets, ""),
        unmapped: listed(unmapped.iter().map(|i| row_item(data, *i))),
        duplicates: listed(duplicates.iter().map(|i| row_item(data, *i))),
        out_of_flight: listed(books.out_of_flight.iter().map(|i| row_item(data, *i))),
        totals: listed(totals.into_iter()),
        variances: review
            .variances
            .variances
            .iter()
            .map(|v| VarianceItem {
                client_id: v.client_id.clone(),
                line_id: v.line_id.clone(),
                href: client_page(&v.client_id, &format!("lines/{}.html", v.line_id)),
                cause: format::cause(v.cause),
                summary: v.summary.clone(),
                explained: v.explained_by.is_some(),
            })
            .collect(),
        single_source: review.variances.single_source.clone(),
        conservation: review
            .conservation
            .iter()
            .map(|c| ConservationRow {
                counts: c.into(),
                balanced: c.balanced(),
            })
            .collect(),
    }
}

/// Every file of the agency's view.
/// `portals`: each client with its periods, in the project's client order.
pub fn render(
    site: &Site,
    portals: &[(&crate::model::Client, Vec<ClientPeriod>)],
    out: &mut Output,
) -> Result<(), RenderError> {
    let root = Path::new("agency");
    let agency = &site.project.config.agency;
    let period_links = |current: Option<usize>, prefix: &str| -> Vec<Link> {
        site.project
            .periods
            .iter()
            .enumerate()
            .rev()
            .map(|(i, p)| Link {
                label: format::period(p.period),
                href: format!("{prefix}{}/index.html", p.period),
                current: Some(i) == current,
            })
            .collect()
    };
    out.file(root.join("style.css"), &site.style)?;
    let frame = Frame {
        agency: agency.name.clone(),
        client: None,
        title: format!("{} — agency view", agency.name),
        css: "style.css".into(),
        home: "index.html".into(),
        crumbs: Vec::new(),
        tabs: Vec::new(),
        periods: period_links(None, ""),
        internal: true,
        unsigned: site.key_id.is_none(),
    };
    out.page(
        root.join("index.html"),
        "agency.html",
        &Page {
            frame: &frame,
            page: IndexPage {
                clients: portals
                    .iter()
                    .map(|(client, periods)| client_row(client, periods))
                    .collect(),
                periods: (0..site.project.periods.len())
                    .rev()
                    .map(|i| period_row(site, i))
                    .collect(),
            },
        },
    )?;
    for (index, data) in site.project.periods.iter().enumerate() {
        if data.sealed {
            // Published as stored: never re-rendered.
            continue;
        }
        let folder = root.join(data.period.to_string());
        let label = format::period(data.period);
        let frame = Frame {
            title: format!("{label} — agency view"),
            css: "../style.css".into(),
            home: "../index.html".into(),
            crumbs: vec![Link {
                label: label.clone(),
                href: "index.html".into(),
                current: true,
            }],
            periods: period_links(Some(index), "../"),
            ..frame.clone()
        };
        out.page(
            folder.join("index.html"),
            "agency_period.html",
            &Page {
                frame: &frame,
                page: period_page(site, index),
            },
        )?;
        out.file(
            folder.join("checklist.json"),
            &super::json::checklist(&site.reviews[index].agency),
        )?;
        out.file(
            folder.join("exceptions.json"),
            &super::json::exceptions(data, &site.books[index], &site.reviews[index]),
        )?;
    }
    Ok(())
}
