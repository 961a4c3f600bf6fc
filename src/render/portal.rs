//! One client's portal: its index, and per period the summary, invoice, statement of
//! account, checklist and one evidence page per line, plus the line's rows as CSV.
//! Everything here is built from that client's own records only, so nothing of another
//! client can reach the portal.

use super::chart::{self, Chart, Plot};
use super::format::{self, money, money_exact, number};
use super::{Frame, Link, Output, Page, Site, markdown, words};
use crate::account::Statement;
use crate::checklist::Checklist;
use crate::invoice::{Invoice, LineBill};
use crate::model::{Client, Evidence, PeriodData, PricingModel, SourceKind, TaxTreatment};
use crate::variance::{ExplainedBy, Variance};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One period of one client: everything its pages show.
pub struct ClientPeriod<'a> {
    pub index: usize,
    pub data: &'a PeriodData,
    pub statement: &'a Statement,
    pub checklist: &'a Checklist,
    pub invoice: Option<&'a Invoice>,
    pub variances: Vec<&'a Variance>,
}

/// The periods in which a client has a bundle, oldest first.
pub fn client_periods<'a>(site: &'a Site, client_id: &str) -> Vec<ClientPeriod<'a>> {
    let mut periods = Vec::new();
    for (index, statements) in site.statements.iter().enumerate() {
        let Some(position) = statements.iter().position(|s| s.client_id == client_id) else {
            continue;
        };
        periods.push(ClientPeriod {
            index,
            data: &site.project.periods[index],
            statement: &statements[position],
            checklist: &site.reviews[index].checklists[position],
            invoice: site.books[index]
                .invoices
                .iter()
                .find(|i| i.client_id == client_id),
            variances: site.reviews[index]
                .variances
                .variances
                .iter()
                .filter(|v| v.client_id == client_id)
                .collect(),
        });
    }
    periods
}

#[derive(Serialize)]
struct Party<'a> {
    name: &'a str,
    address: Option<&'a str>,
    country: Option<&'a str>,
    tax_id: Option<&'a str>,
    email: Option<&'a str>,
}

/// Counts of a checklist's statuses, and the steps that did not pass.
#[derive(Serialize)]
struct ChecklistSummary {
    status: &'static str,
    status_label: &'static str,
    pass: usize,
    warn: usize,
    fail: usize,
    attention: Vec<String>,
}

fn checklist_summary(checklist: &Checklist) -> ChecklistSummary {
    use crate::checklist::StepStatus;
    let count = |status| {
        checklist
            .steps
            .iter()
            .filter(|s| s.status == status)
            .count()
    };
    let worst = checklist.status();
    ChecklistSummary {
        status: worst.as_str(),
        status_label: format::status(worst.as_str()),
        pass: count(StepStatus::Pass),
        warn: count(StepStatus::Warn),
        fail: count(StepStatus::Fail),
        attention: checklist
            .steps
            .iter()
            .filter(|s| s.status != StepStatus::Pass)
            .map(|s| format!("{}: {}", words::step(&s.id), s.summary))
            .collect(),
    }
}

/// Every file of one client's portal: the client's periods, oldest first.
pub fn render(
    site: &Site,
    client: &Client,
    periods: &[ClientPeriod],
    out: &mut Output,
) -> Result<(), super::RenderError> {
    let portal = Path::new("clients").join(&client.client_id);
    let agency = &site.project.config.agency;
    let period_links = |current: Option<usize>, prefix: &str| -> Vec<Link> {
        periods
            .iter()
            .rev()
            .map(|p| Link {
                label: format::period(p.data.period),
                href: format!("{prefix}{}/index.html", p.data.period),
                current: Some(p.index) == current,
            })
            .collect()
    };

    out.file(portal.join("style.css"), &site.style)?;
    let frame = Frame {
        agency: agency.name.clone(),
        client: Some(client.name.clone()),
        title: format!("{} — billing portal", client.name),
        css: "style.css".into(),
        home: "index.html".into(),
        crumbs: Vec::new(),
        tabs: Vec::new(),
        periods: period_links(None, ""),
        internal: false,
        unsigned: site.key_id.is_none(),
    };
    out.page(
        portal.join("index.html"),
        "portal.html",
        &Page {
            frame: &frame,
            page: index_page(client, periods),
        },
    )?;

    for (position, cp) in periods.iter().enumerate() {
        if cp.data.sealed {
            // Published as stored: never re-rendered.
            continue;
        }
        let period = cp.data.period.to_string();
        let folder = portal.join(&period);
        let period_label = format::period(cp.data.period);
        let tab = |label: &str, href: &str, current: &str| Link {
            label: label.into(),
            href: href.into(),
            current: href == current,
        };
        let tabs = |prefix: &str, current: &str| {
            let mut tabs = vec![tab("Summary", &format!("{prefix}index.html"), current)];
            if cp.invoice.is_some() {
                tabs.push(tab("Invoice", &format!("{prefix}invoice.html"), current));
            }
            tabs.push(tab("Account", &format!("{prefix}account.html"), current));
            tabs.push(tab(
                "Checklist",
                &format!("{prefix}checklist.html"),
                current,
            ));
            tabs
        };
        let frame_for = |title: &str, page: &str| Frame {
            agency: agency.name.clone(),
            client: Some(client.name.clone()),
            title: format!("{title} — {period_label} — {}", client.name),
            css: "style.css".into(),
            home: "../index.html".into(),
            crumbs: vec![Link {
                label: period_label.clone(),
                href: "index.html".into(),
                current: page == "index.html",
            }],
            tabs: tabs("", page),
            periods: period_links(Some(cp.index), "../"),
            internal: false,
            unsigned: site.key_id.is_none(),
        };
        let neighbours = Neighbours {
            previous: position
                .checked_sub(1)
                .map(|p| periods[p].data.period.to_string()),
            next: periods.get(position + 1).map(|p| p.data.period.to_string()),
        };
        out.file(folder.join("style.css"), &site.style)?;
        out.page(
            folder.join("index.html"),
            "period.html",
            &Page {
                frame: &frame_for("Summary", "index.html"),
                page: period_page(site, client, cp, &neighbours),
            },
        )?;
        if let Some(invoice) = cp.invoice {
            out.page(
                folder.join("invoice.html"),
                "invoice.html",
                &Page {
                    frame: &frame_for(
                        &format!("{} {}", kind_label(invoice), invoice.number),
                        "invoice.html",
                    ),
                    page: invoice_page(site, client, cp.data, invoice),
                },
            )?;
            out.file(folder.join("invoice.json"), &super::json::invoice(invoice))?;
            for line in &invoice.lines {
                let line_frame = Frame {
                    css: "../style.css".into(),
                    home: "../../index.html".into(),
                    crumbs: vec![
                        Link {
                            label: period_label.clone(),
                            href: "../index.html".into(),
                            current: false,
                        },
                        Link {
                            label: line.description.clone(),
                            href: format!("{}.html", line.line_id),
                            current: true,
                        },
                    ],
                    tabs: tabs("../", ""),
                    periods: period_links(Some(cp.index), "../../"),
                    ..frame_for(&line.description, "")
                };
                let lines = folder.join("lines");
                out.page(
                    lines.join(format!("{}.html", line.line_id)),
                    "line.html",
                    &Page {
                        frame: &line_frame,
                        page: line_page(site, cp, invoice, line),
                    },
                )?;
                // Delivery lines' CSVs are written with the client's slices of the
                // exports, from the same read of them (build::seal).
                if let Some(csv) = super::rows::records_csv(cp.data, line) {
                    out.file(lines.join(format!("{}.csv", line.line_id)), &csv)?;
                }
            }
        }
        out.page(
            folder.join("account.html"),
            "account.html",
            &Page {
                frame: &frame_for("Statement of account", "account.html"),
                page: account_page(cp.statement),
            },
        )?;
        out.file(
            folder.join("account.json"),
            &super::json::account(cp.statement),
        )?;
        out.page(
            folder.join("checklist.html"),
            "checklist.html",
            &Page {
                frame: &frame_for("Reconciliation checklist", "checklist.html"),
                page: checklist_page(cp),
            },
        )?;
        out.file(
            folder.join("checklist.json"),
            &super::json::checklist(cp.checklist),
        )?;
        for attachment in attachments(client, cp) {
            out.copy(
                folder.join("attachments").join(&attachment),
                site.project
                    .dir
                    .join("periods")
                    .join(&period)
                    .join("attachments")
                    .join(&attachment),
            );
        }
    }
    Ok(())
}

struct Neighbours {
    previous: Option<String>,
    next: Option<String>,
}

fn kind_label(invoice: &Invoice) -> &'static str {
    match invoice.kind {
        crate::invoice::DocumentType::Invoice => "Invoice",
        crate::invoice::DocumentType::CreditNote => "Credit note",
    }
}

/// The attachments a client's own records of a period reference.
fn attachments(client: &Client, cp: &ClientPeriod) -> Vec<PathBuf> {
    let own = |id: &str| id == client.client_id;
    let data = cp.data;
    let mut paths: Vec<PathBuf> = data
        .adjustments
        .iter()
        .filter(|a| own(&a.client_id))
        .filter_map(|a| a.evidence.as_ref())
        .chain(
            data.explanations
                .iter()
                .filter(|e| own(&e.client_id))
                .filter_map(|e| e.evidence.as_ref()),
        )
        .chain(
            cp.checklist
                .steps
                .iter()
                .filter_map(|s| s.evidence.as_ref()),
        )
        .filter_map(|e| match e {
            Evidence::Attachment(path) => Some(path.clone()),
            Evidence::Url(_) => None,
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// Where an evidence reference points, from a page in the period folder (`prefix` ""
/// ) or below it (`"../"`).
fn evidence_href(evidence: &Evidence, prefix: &str) -> String {
    match evidence {
        Evidence::Attachment(path) => {
            format!("{prefix}attachments/{}", crate::error::display_path(path))
        }
        Evidence::Url(url) => url.clone(),
    }
}

fn evidence_label(evidence: &Evidence) -> String {
    match evidence {
        Evidence::Attachment(path) => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        Evidence::Url(url) => url.clone(),
    }
}

#[derive(Serialize)]
struct EvidenceLink {
    href: String,
    label: String,
}

fn evidence_link(evidence: &Option<Evidence>, prefix: &str) -> Option<EvidenceLink> {
    evidence.as_ref().map(|e| EvidenceLink {
        href: evidence_href(e, prefix),
        label: evidence_label(e),
    })
}

// ---------------------------------------------------------------- portal index

#[derive(Serialize)]
struct IndexPage {
    client_id: String,
    currency: &'static str,
    as_of: Option<String>,
    ar: Option<String>,
    account_credit: Option<String>,
    account_href: Option<String>,
    dso: Option<String>,
    aging: Vec<AgingRow>,
    periods: Vec<PeriodRow>,
}

#[derive(Serialize)]
pub(super) struct AgingRow {
    pub(super) label: String,
    pub(super) amount: String,
    count: usize,
}

#[derive(Serialize)]
struct PeriodRow {
    label: String,
    href: String,
    document: Option<DocumentLink>,
    checklist: ChecklistSummary,
    variances: usize,
}

#[derive(Serialize)]
struct DocumentLink {
    number: String,
    kind: &'static str,
    href: String,
    total: String,
    balance: Option<String>,
    status: Option<&'static str>,
    status_label: Option<&'static str>,
}

/// Aging of the open documents of a statement: current, then each overdue bucket.
pub(super) fn aging(statement: &Statement) -> Vec<AgingRow> {
    let mut rows: Vec<(String, Decimal, usize)> = Vec::new();
    for document in &statement.documents {
        if document.balance <= Decimal::ZERO {
            continue;
        }
        let label = match document.bucket {
            Some(bucket) => format::bucket(bucket),
            None => "Not yet due".to_owned(),
        };
        match rows.iter_mut().find(|(l, _, _)| *l == label) {
            Some(row) => {
                row.1 += document.balance;
                row.2 += 1;
            }
            None => rows.push((label, document.balance, 1)),
        }
    }
    let order = |label: &str| {
        ["Not yet due", "1", "31", "61", "90"]
            .iter()
            .position(|p| label.starts_with(p))
            .unwrap_or(9)
    };
    rows.sort_by_key(|(label, _, _)| order(label));
    rows.into_iter()
        .map(|(label, amount, count)| AgingRow {
            label,
            amount: money(amount, statement.currency),
            count,
        })
        .collect()
}

fn index_page(client: &Client, periods: &[ClientPeriod]) -> IndexPage {
    let latest = periods.last();
    IndexPage {
        client_id: client.client_id.clone(),
        currency: client.currency.code(),
        as_of: latest.map(|p| format::date(p.statement.as_of)),
        ar: latest.map(|p| money(p.statement.ar, p.statement.currency)),
        account_credit: latest.map(|p| money(p.statement.account_credit, p.statement.currency)),
        account_href: latest.map(|p| format!("{}/account.html", p.data.period)),
        dso: latest.and_then(|p| p.statement.dso).map(format::days),
        aging: latest.map(|p| aging(p.statement)).unwrap_or_default(),
        periods: periods
            .iter()
            .rev()
            .map(|p| PeriodRow {
                label: format::period(p.data.period),
                href: format!("{}/index.html", p.data.period),
                document: p.invoice.map(|invoice| {
                    let state = latest.and_then(|l| {
                        l.statement
                            .documents
                            .iter()
                            .find(|d| d.number == invoice.number)
                    });
                    DocumentLink {
                        number: invoice.number.clone(),
                        kind: kind_label(invoice),
                        href: format!("{}/invoice.html", p.data.period),
                        total: money(invoice.total, invoice.currency),
                        balance: state.map(|s| money(s.balance, invoice.currency)),
                        status: state.map(|s| s.status.as_str()),
                        status_label: state.map(|s| format::status(s.status.as_str())),
                    }
                }),
                checklist: checklist_summary(p.checklist),
                variances: p.variances.len(),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------- period summary

#[derive(Serialize)]
struct PeriodPage {
    period: String,
    label: String,
    first: String,
    last: String,
    previous: Option<String>,
    next: Option<String>,
    document: Option<DocumentLink>,
    lines: Vec<LineRow>,
    adjustments: Vec<AdjustmentRow>,
    subtotal: Option<String>,
    tax: Option<String>,
    variances: Vec<VarianceRow>,
    checklist: ChecklistSummary,
    notes_html: Option<String>,
    ar: String,
    account_credit: String,
    payments: Vec<PaymentRow>,
    /// The signing key's fingerprint in groups of four, for comparison by eye; none in
    /// an unsigned preview.
    fingerprint: Option<Vec<String>>,
    key_id: Option<String>,
}

#[derive(Serialize)]
struct VarianceRow {
    line_id: String,
    line_href: String,
    cause: &'static str,
    summary: String,
    days: Vec<String>,
    explained: bool,
    explained_by: Option<String>,
    explanation_html: Option<String>,
    approved_by: Option<String>,
    evidence: Option<EvidenceLink>,
}

fn variance_row(data: &PeriodData, variance: &Variance, prefix: &str) -> VarianceRow {
    let note = match &variance.explained_by {
        Some(ExplainedBy::Note(i)) => data.explanations.get(*i),
        _ => None,
    };
    VarianceRow {
        line_id: variance.line_id.clone(),
        line_href: format!("{prefix}lines/{}.html", variance.line_id),
        cause: format::cause(variance.cause),
        summary: variance.summary.clone(),
        days: variance.days.iter().map(|d| format::day(*d)).collect(),
        explained: variance.explained_by.is_some(),
        explained_by: variance.explained_by.as_ref().map(|e| match e {
            ExplainedBy::Note(_) => "Explained by the agency".to_owned(),
            ExplainedBy::Adjustment(id) => format!("Settled by adjustment {id}"),
            ExplainedBy::Cap => "The budget cap: over-delivery is never billed".to_owned(),
        }),
        explanation_html: note.map(|n| markdown::to_html(&n.explanation)),
        approved_by: note.and_then(|n| n.approved_by.clone()),
        evidence: note.and_then(|n| evidence_link(&n.evidence, prefix)),
    }
}

#[derive(Serialize)]
struct PaymentRow {
    payment_id: String,
    received_on: String,
    amount: String,
    applied: Vec<String>,
    to_credit: Option<String>,
}

/// The payments of a statement's period and where each went.
fn payment_rows(statement: &Statement) -> Vec<PaymentRow> {
    let currency = statement.currency;
    statement
        .payments
        .iter()
        .map(|p| PaymentRow {
            payment_id: p.payment_id.clone(),
            received_on: format::date(p.received_on),
            amount: money(p.amount, currency),
            applied: p
                .applied
                .iter()
                .map(|a| format!("{} {}", a.number, money(a.amount, currency)))
                .collect(),
            to_credit: (!p.to_credit.is_zero()).then(|| money(p.to_credit, currency)),
        })
        .collect()
}

fn period_page(
    site: &Site,
    client: &Client,
    cp: &ClientPeriod,
    neighbours: &Neighbours,
) -> PeriodPage {
    let currency = cp.statement.currency;
    let state = |number: &str| cp.statement.documents.iter().find(|d| d.number == number);
    PeriodPage {
        period: cp.data.period.to_string(),
        label: format::period(cp.data.period),
        first: format::date(cp.data.period.first()),
        last: format::date(cp.data.period.last()),
        previous: neighbours.previous.clone(),
        next: neighbours.next.clone(),
        document: cp.invoice.map(|invoice| DocumentLink {
            number: invoice.number.clone(),
            kind: kind_label(invoice),
            href: "invoice.html".into(),
            total: money(invoice.total, invoice.currency),
            balance: state(&invoice.number).map(|s| money(s.balance, currency)),
            status: state(&invoice.number).map(|s| s.status.as_str()),
            status_label: state(&invoice.number).map(|s| format::status(s.status.as_str())),
        }),
        lines: cp
            .invoice
            .map(|i| i.lines.iter().map(|l| line_row(l, i, "")).collect())
            .unwrap_or_default(),
        adjustments: cp
            .invoice
            .map(|i| adjustment_rows(cp.data, i, ""))
            .unwrap_or_default(),
        subtotal: cp.invoice.map(|i| money(i.subtotal, i.currency)),
        tax: cp.invoice.map(|i| money(i.tax, i.currency)),
        variances: cp
            .variances
            .iter()
            .map(|v| variance_row(cp.data, v, ""))
            .collect(),
        checklist: checklist_summary(cp.checklist),
        notes_html: cp
            .data
            .notes
            .get(&client.client_id)
            .map(|n| markdown::to_html(n)),
        ar: money(cp.statement.ar, currency),
        account_credit: money(cp.statement.account_credit, currency),
        payments: payment_rows(cp.statement),
        fingerprint: site.key_id.map(format::fingerprint),
        key_id: site.key_id.map(str::to_owned),
    }
}

// ---------------------------------------------------------------- invoice

#[derive(Serialize)]
struct LineRow {
    line_id: String,
    href: String,
    description: String,
    model: &'static str,
    po_number: Option<String>,
    quantity: String,
    unit_price: Option<String>,
    fx: Option<String>,
    gross: String,
    over_delivery: Option<String>,
    net: String,
    segments: Vec<SegmentRow>,
}

#[derive(Serialize)]
struct SegmentRow {
    from: String,
    to: String,
    quantity: String,
    unit_price: String,
    amount: String,
}

/// A line's quantity in words: `1,204,331 impressions`, `€52,160.00 media spend`.
fn quantity_text(line: &LineBill) -> String {
    match line.model {
        PricingModel::MediaPct => format!("{} media spend", money(line.quantity, line.currency)),
        model => format!("{} {}", number(line.quantity), words::units(model).quantity),
    }
}

/// A rate in words: `€4.50 per 1,000`, `15% of media spend`.
fn rate_text(rate: Decimal, line: &LineBill) -> String {
    let units = words::units(line.model);
    match line.model {
        PricingModel::MediaPct => format!("{}% {}", number(rate), units.per),
        _ => format!("{} {}", money_exact(rate, line.currency), units.per),
    }
}

fn fx_text(fx: &crate::invoice::FxUse) -> String {
    format!(
        "1 {} = {} {} ({}, {})",
        fx.from,
        number(fx.rate),
        fx.to,
        fx.source,
        format::date(fx.as_of)
    )
}

fn line_row(line: &LineBill, invoice: &Invoice, prefix: &str) -> LineRow {
    LineRow {
        line_id: line.line_id.clone(),
        href: format!("{prefix}lines/{}.html", line.line_id),
        description: line.description.clone(),
        model: words::units(line.model).model,
        po_number: line.po_number.clone(),
        quantity: quantity_text(line),
        unit_price: line.unit_price.map(|r| rate_text(r, line)),
        fx: line.fx.as_ref().map(fx_text),
        gross: money(line.cap.gross, line.currency),
        over_delivery: (!line.cap.over.is_zero()).then(|| money(line.cap.over, line.currency)),
        net: money(line.net, invoice.currency),
        segments: if line.has_segments() {
            line.segments
                .iter()
                .map(|s| SegmentRow {
                    from: format::day(s.from),
                    to: format::day(s.to),
                    quantity: match line.model {
                        PricingModel::MediaPct => money_exact(s.quantity, line.currency),
                        _ => number(s.quantity),
                    },
                    unit_price: rate_text(s.unit_price, line),
                    amount: money_exact(s.amount, line.currency),
                })
                .collect()
        } else {
            Vec::new()
        },
    }
}

#[derive(Serialize)]
struct AdjustmentRow {
    adjustment_id: String,
    kind: &'static str,
    reason: &'static str,
    description: Option<String>,
    invoice_number: Option<String>,
    line_href: Option<String>,
    net: String,
    evidence: Option<EvidenceLink>,
}

fn adjustment_rows(data: &PeriodData, invoice: &Invoice, prefix: &str) -> Vec<AdjustmentRow> {
    invoice
        .adjustments
        .iter()
        .map(|a| AdjustmentRow {
            adjustment_id: a.adjustment_id.clone(),
            kind: words::adjustment(a.kind),
            reason: format::cause(a.reason),
            description: a.description.clone(),
            invoice_number: a.invoice_number.clone(),
            line_href: a
                .line_id
                .as_ref()
                .map(|l| format!("{prefix}lines/{l}.html")),
            net: money(a.net, invoice.currency),
            evidence: data
                .adjustments
                .get(a.index)
                .and_then(|adj| evidence_link(&adj.evidence, prefix)),
        })
        .collect()
}

#[derive(Serialize)]
struct InvoicePage<'a> {
    number: &'a str,
    kind: &'static str,
    credit_note: bool,
    period: String,
    issue_date: String,
    due_date: String,
    payment_terms_days: u32,
    currency: &'static str,
    from: Party<'a>,
    to: Party<'a>,
    po_numbers: Vec<String>,
    lines: Vec<LineRow>,
    adjustments: Vec<AdjustmentRow>,
    subtotal: String,
    tax_label: String,
    tax: String,
    total: String,
    legal_note: Option<&'a str>,
    fx: Vec<String>,
    client_id: &'a str,
}

fn invoice_page<'a>(
    site: &'a Site,
    client: &'a Client,
    data: &PeriodData,
    invoice: &'a Invoice,
) -> InvoicePage<'a> {
    let agency = &site.project.config.agency;
    let mut po_numbers: Vec<String> = invoice
        .lines
        .iter()
        .filter_map(|l| l.po_number.clone())
        .collect();
    po_numbers.sort();
    po_numbers.dedup();
    let mut fx: Vec<String> = invoice
        .lines
        .iter()
        .filter_map(|l| l.fx.as_ref().map(fx_text))
        .collect();
    fx.sort();
    fx.dedup();
    InvoicePage {
        number: &invoice.number,
        kind: kind_label(invoice),
        credit_note: invoice.kind == crate::invoice::DocumentType::CreditNote,
        period: format::period(invoice.period),
        issue_date: format::date(invoice.issue_date),
        due_date: format::date(invoice.due_date),
        payment_terms_days: client.payment_terms_days,
        currency: invoice.currency.code(),
        from: Party {
            name: &agency.name,
            address: agency.address.as_deref(),
            country: agency.country.as_deref(),
            tax_id: agency.tax_id.as_deref(),
            email: agency.email.as_deref(),
        },
        to: Party {
            name: &client.name,
            address: client.address.as_deref(),
            country: Some(&client.country),
            tax_id: client.tax_id.as_deref(),
            email: client.email.as_deref(),
        },
        po_numbers,
        lines: invoice
            .lines
            .iter()
            .map(|l| line_row(l, invoice, ""))
            .collect(),
        adjustments: adjustment_rows(data, invoice, ""),
        subtotal: money(invoice.subtotal, invoice.currency),
        tax_label: match invoice.tax_treatment {
            TaxTreatment::Standard { rate } => format!("VAT {}%", number(rate)),
            TaxTreatment::ReverseCharge => "VAT (reverse charge)".into(),
            TaxTreatment::Exempt => "VAT (exempt)".into(),
        },
        tax: money(invoice.tax, invoice.currency),
        total: money(invoice.total, invoice.currency),
        legal_note: invoice.legal_note.as_deref(),
        fx,
        client_id: &client.client_id,
    }
}

// ---------------------------------------------------------------- account

#[derive(Serialize)]
struct AccountPage {
    as_of: String,
    currency: &'static str,
    documents: Vec<DocumentRow>,
    credits: Vec<String>,
    payments: Vec<PaymentRow>,
    account_credit: String,
    ar: String,
    dso: Option<String>,
    aging: Vec<AgingRow>,
}

#[derive(Serialize)]
struct DocumentRow {
    number: String,
    kind: &'static str,
    href: String,
    issue_date: String,
    due_date: String,
    total: String,
    paid: String,
    balance: String,
    status: &'static str,
    status_label: &'static str,
    days_past_due: i64,
    bucket: Option<String>,
}

fn account_page(statement: &Statement) -> AccountPage {
    let currency = statement.currency;
    AccountPage {
        as_of: format::date(statement.as_of),
        currency: currency.code(),
        documents: statement
            .documents
            .iter()
            .map(|d| DocumentRow {
                number: d.number.clone(),
                kind: match d.kind {
                    crate::invoice::DocumentType::Invoice => "Invoice",
                    crate::invoice::DocumentType::CreditNote => "Credit note",
                },
                href: format!("../{}/invoice.html", d.period),
                issue_date: format::date(d.issue_date),
                due_date: format::date(d.due_date),
                total: money(d.total, currency),
                paid: money(d.paid, currency),
                balance: money(d.balance, currency),
                status: d.status.as_str(),
                status_label: format::status(d.status.as_str()),
                days_past_due: d.days_past_due,
                bucket: d.bucket.map(format::bucket),
            })
            .collect(),
        credits: statement
            .credits
            .iter()
            .map(|c| {
                let from = match &c.from {
                    Some(number) => format!("Credit note {number}"),
                    None => "Account credit".to_owned(),
                };
                format!(
                    "{from}: {} applied to {}",
                    money(c.applied.amount, currency),
                    c.applied.number
                )
            })
            .collect(),
        payments: payment_rows(statement),
        account_credit: money(statement.account_credit, currency),
        ar: money(statement.ar, currency),
        dso: statement.dso.map(format::days),
        aging: aging(statement),
    }
}

// ---------------------------------------------------------------- checklist

#[derive(Serialize)]
struct ChecklistPage {
    summary: ChecklistSummary,
    steps: Vec<StepRow>,
}

#[derive(Serialize)]
pub(super) struct StepRow {
    id: String,
    title: String,
    manual: bool,
    status: &'static str,
    status_label: &'static str,
    not_applicable: bool,
    summary: String,
    /// Up to [`LISTED`](super::LISTED); the rest are counted in `more`, and are all in
    /// `checklist.json` beside the page.
    details: Vec<Detail>,
    more: usize,
    owner: Option<String>,
    signed_off_by: Option<String>,
    signed_off_at: Option<String>,
    evidence: Option<EvidenceLink>,
}

/// One detail line of a step, linked to the evidence page of the line it names.
#[derive(Serialize)]
pub(super) struct Detail {
    text: String,
    href: Option<String>,
}

/// The first identifier-shaped token of `text` (`[A-Za-z0-9._-]+`) that is a key of
/// `targets`.
fn first_target<'t>(text: &str, targets: &'t BTreeMap<String, String>) -> Option<&'t String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .find_map(|token| targets.get(token))
}

pub(super) fn step_rows(
    checklist: &Checklist,
    targets: &BTreeMap<String, String>,
    evidence_prefix: &str,
) -> Vec<StepRow> {
    checklist
        .steps
        .iter()
        .map(|s| StepRow {
            id: s.id.clone(),
            title: words::step(&s.id).to_owned(),
            manual: s.manual,
            status: s.status.as_str(),
            status_label: if s.not_applicable {
                "Not applicable"
            } else {
                format::status(s.status.as_str())
            },
            not_applicable: s.not_applicable,
            summary: s.summary.clone(),
            details: (s.details.iter().take(super::LISTED))
                .map(|d| Detail {
                    text: d.clone(),
                    href: first_target(d, targets).cloned(),
                })
                .collect(),
            more: s.details.len().saturating_sub(super::LISTED),
            owner: s.owner.clone(),
            signed_off_by: s.signed_off_by.clone(),
            signed_off_at: s.signed_off_at.clone(),
            evidence: evidence_link(&s.evidence, evidence_prefix),
        })
        .collect()
}

fn checklist_page(cp: &ClientPeriod) -> ChecklistPage {
    // Details name lines, change orders, adjustments and documents; each links to the
    // page that holds its evidence.
    let mut targets = BTreeMap::new();
    if let Some(invoice) = cp.invoice {
        targets.insert(invoice.number.clone(), "invoice.html".to_owned());
        for line in &invoice.lines {
            let href = format!("lines/{}.html", line.line_id);
            for change in &line.change_orders {
                targets.insert(change.clone(), href.clone());
            }
            targets.insert(line.line_id.clone(), href);
        }
        for adjustment in &invoice.adjustments {
            let href = match &adjustment.line_id {
                Some(line) => format!("lines/{line}.html"),
                None => "invoice.html".to_owned(),
            };
            targets.insert(adjustment.adjustment_id.clone(), href);
        }
    }
    for payment in &cp.statement.payments {
        targets.insert(payment.payment_id.clone(), "account.html".to_owned());
    }
    ChecklistPage {
        summary: checklist_summary(cp.checklist),
        steps: step_rows(cp.checklist, &targets, ""),
    }
}

// ---------------------------------------------------------------- line evidence

#[derive(Serialize)]
struct LinePage {
    line_id: String,
    description: String,
    model: &'static str,
    campaign: Option<String>,
    po_number: Option<String>,
    flight: String,
    basis: Option<&'static str>,
    other: Option<&'static str>,
    quantity_noun: &'static str,
    computation: Vec<String>,
    net: String,
    rates: Vec<SegmentRow>,
    days: Vec<DayRow>,
    has_units: bool,
    daily_chart: Option<Chart>,
    cumulative_chart: Option<Chart>,
    change_orders: Vec<ChangeRow>,
    out_of_flight: Vec<RowRef>,
    adjustments: Vec<AdjustmentRow>,
    variances: Vec<VarianceRow>,
    milestones: Vec<MilestoneRow>,
    timesheets: Vec<TimesheetRow>,
    sources: Vec<SourceRows>,
    csv: Option<String>,
    tolerance: String,
}

#[derive(Serialize)]
struct DayRow {
    date: String,
    rate: String,
    basis: Option<String>,
    other: Option<String>,
    difference: Option<String>,
    out_of_tolerance: bool,
    quantity: String,
    amount: String,
}

#[derive(Serialize)]
struct ChangeRow {
    change_id: String,
    effective_from: String,
    changes: Vec<String>,
    approved: String,
    reference: Option<String>,
}

#[derive(Serialize)]
struct RowRef {
    file: String,
    line: u64,
    date: String,
    campaign: String,
    href: String,
}

#[derive(Serialize)]
struct MilestoneRow {
    milestone_id: String,
    description: String,
    amount: String,
    accepted: String,
    reference: Option<String>,
}

#[derive(Serialize)]
struct TimesheetRow {
    date: String,
    person: String,
    hours: String,
    description: Option<String>,
}

/// The rows of one export behind a line: how many, on which lines, and the slice
/// that holds them.
#[derive(Serialize)]
struct SourceRows {
    file: String,
    name: String,
    href: String,
    rows: usize,
    lines: String,
}

/// `1, 3, 4, 5, 9` → `1, 3–5, 9`.
fn ranges(lines: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = lines[i];
        let mut end = start;
        while i + 1 < lines.len() && lines[i + 1] == end + 1 {
            i += 1;
            end = lines[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}–{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

fn export_name(data: &PeriodData, export: usize) -> String {
    data.exports[export]
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn line_page(site: &Site, cp: &ClientPeriod, invoice: &Invoice, line: &LineBill) -> LinePage {
    let contract = site.project.line(&line.line_id);
    let data = cp.data;
    let currency = line.currency;
    let units = words::units(line.model);
    let basis_kind = contract
        .and_then(|c| c.basis)
        .unwrap_or(SourceKind::AdServer);
    let counts_units = line.model.counts_units();
    let out_days: Vec<chrono::NaiveDate> = cp
        .variances
        .iter()
        .filter(|v| v.line_id == line.line_id)
        .flat_map(|v| v.days.iter().copied())
        .collect();
    let tolerance = site.project.config.tolerances.discrepancy_pct;

    let mut computation = Vec::new();
    let what = match line.model {
        PricingModel::Cpm | PricingModel::Cpc | PricingModel::Cpa => format!(
            "{} {} ({})",
            number(line.quantity),
            units.quantity,
            words::source_kind(basis_kind)
        ),
        PricingModel::MediaPct => format!(
            "{} media spend (ad platform)",
            money_exact(line.quantity, currency)
        ),
        PricingModel::Flat => format!(
            "{} of {} days",
            number(line.quantity),
            cp.data.period.days()
        ),
        PricingModel::Hourly => format!("{} hours", number(line.quantity)),
        PricingModel::Milestone => format!("{} accepted milestones", number(line.quantity)),
    };
    match (line.model, line.unit_price) {
        (PricingModel::Milestone, _) => computation.push(format!(
            "{what} = {}",
            money_exact(line.gross_exact, currency)
        )),
        (_, Some(rate)) if !line.has_segments() => computation.push(format!(
            "{what} × {} = {}",
            rate_text(rate, line),
            money_exact(line.gross_exact, currency)
        )),
        _ => {
            for segment in &line.segments {
                computation.push(format!(
                    "{} to {}: {} × {} = {}",
                    format::day(segment.from),
                    format::day(segment.to),
                    match line.model {
                        PricingModel::MediaPct => money_exact(segment.quantity, currency),
                        _ => format!("{} {}", number(segment.quantity), units.quantity),
                    },
                    rate_text(segment.unit_price, line),
                    money_exact(segment.amount, currency)
                ));
            }
            computation.push(format!(
                "Total: {what} = {}",
                money_exact(line.gross_exact, currency)
            ));
        }
    }
    if line.gross_exact != line.cap.gross {
        computation.push(format!("Rounded to {}", money(line.cap.gross, currency)));
    }
    if let (Some(budget), Some(remaining)) = (line.cap.budget, line.cap.remaining) {
        computation.push(format!(
            "Budget {} − {} billed in earlier periods = {} remaining",
            money(budget, currency),
            money(line.cap.billed_before, currency),
            money(remaining, currency)
        ));
        if line.cap.over.is_zero() {
            computation.push(format!(
                "Within budget: {} billed",
                money(line.cap.billed, currency)
            ));
        } else {
            computation.push(format!(
                "Capped at the budget: {} billed; {} over-delivery is not billed",
                money(line.cap.billed, currency),
                money(line.cap.over, currency)
            ));
        }
    }
    for fx in &line.spend_fx {
        computation.push(format!("Media spend converted at {}", fx_text(fx)));
    }
    if let Some(fx) = &line.fx {
        computation.push(format!(
            "{} × {} = {} at {}",
            money(line.cap.billed, currency),
            number(fx.rate),
            money(line.net, invoice.currency),
            fx_text(fx)
        ));
    }

    let days: Vec<DayRow> = line
        .days
        .iter()
        .map(|d| DayRow {
            date: format::day(d.date),
            rate: rate_text(d.rate, line),
            basis: d.units.basis.map(number),
            other: d.units.other.map(number),
            difference: match (d.units.basis, d.units.other) {
                (Some(b), Some(o)) => crate::variance::percent_change(o, b).map(|p| {
                    let mut p = p.round_dp(1);
                    p.rescale(1);
                    format!("{p}%")
                }),
                _ => None,
            },
            out_of_tolerance: out_days.contains(&d.date),
            quantity: match line.model {
                PricingModel::MediaPct => money_exact(d.quantity, currency),
                _ => number(d.quantity),
            },
            amount: money_exact(d.amount, currency),
        })
        .collect();
    let marked: Vec<bool> = line
        .days
        .iter()
        .map(|d| out_days.contains(&d.date))
        .collect();
    let day_labels: Vec<String> = line.days.iter().map(|d| format::day(d.date)).collect();
    let count_label = |d: Decimal| number(d.round_dp(0));
    let daily_chart = if counts_units {
        chart::draw(Plot {
            days: day_labels.clone(),
            series: vec![
                (
                    words::source_kind(basis_kind),
                    "basis",
                    line.days.iter().map(|d| d.units.basis).collect(),
                ),
                (
                    words::source_kind(basis_kind.other()),
                    "other",
                    line.days.iter().map(|d| d.units.other).collect(),
                ),
            ],
            marked: &marked,
            label: &count_label,
        })
    } else {
        None
    };
    let money_label = |d: Decimal| money(d.round_dp(0), currency);
    let cumulative_chart = {
        let mut running = line.cap.billed_before;
        let cumulative: Vec<Option<Decimal>> = line
            .days
            .iter()
            .map(|d| {
                running += d.amount;
                Some(running)
            })
            .collect();
        let mut series = vec![("billable value, cumulative", "basis", cumulative)];
        if let Some(budget) = line.cap.budget {
            series.push(("budget", "budget", vec![Some(budget); line.days.len()]));
        }
        chart::draw(Plot {
            days: day_labels,
            series,
            marked: &[],
            label: &money_label,
        })
    };

    let change_orders = line
        .change_orders
        .iter()
        .filter_map(|id| {
            site.project
                .periods
                .iter()
                .flat_map(|p| &p.change_orders)
                .find(|c| &c.change_id == id)
        })
        .map(|c| {
            let mut changes = Vec::new();
            if let Some(rate) = c.rate {
                changes.push(format!("rate {}", rate_text(rate, line)));
            }
            if let Some(budget) = c.budget {
                changes.push(format!("budget {}", money(budget, currency)));
            }
            if let Some(end) = c.end {
                changes.push(format!("end {}", format::date(end)));
            }
            ChangeRow {
                change_id: c.change_id.clone(),
                effective_from: format::date(c.effective_from),
                changes,
                approved: match (&c.approval.approved_by, c.approval.approved_at) {
                    (Some(by), Some(at)) => format!("{by}, {}", format::date(at)),
                    _ => "not approved".to_owned(),
                },
                reference: c.reference.clone(),
            }
        })
        .collect();

    let row_ref = |index: u32| {
        let (row, origin) = (&data.rows[index], data.rows.origin(index));
        RowRef {
            file: export_name(data, origin.export()),
            line: data.line(origin),
            date: format::date(row.date),
            campaign: data.rows.source_campaign_id(row).to_string(),
            href: format!("../data/{}", export_name(data, origin.export())),
        }
    };
    let mut by_export: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for &index in &line.rows {
        let origin = data.rows.origin(index);
        by_export
            .entry(origin.export())
            .or_default()
            .push(data.line(origin));
    }
    let sources = by_export
        .into_iter()
        .map(|(export, mut lines)| {
            lines.sort_unstable();
            SourceRows {
                file: crate::error::display_path(&data.exports[export].path),
                name: export_name(data, export),
                href: format!("../data/{}", export_name(data, export)),
                rows: lines.len(),
                lines: ranges(&lines),
            }
        })
        .collect();

    LinePage {
        line_id: line.line_id.clone(),
        description: line.description.clone(),
        model: units.model,
        campaign: contract.and_then(|c| c.campaign.clone()),
        po_number: line.po_number.clone(),
        flight: format!(
            "{} to {}",
            format::date(line.flight.0),
            format::date(line.flight.1)
        ),
        basis: counts_units.then(|| words::source_kind(basis_kind)),
        other: counts_units.then(|| words::source_kind(basis_kind.other())),
        quantity_noun: match line.model {
            PricingModel::MediaPct => "Media spend",
            PricingModel::Hourly => "Hours",
            _ => "Quantity",
        },
        computation,
        net: money(line.net, invoice.currency),
        rates: line_row(line, invoice, "../").segments,
        days,
        has_units: counts_units,
        daily_chart,
        cumulative_chart,
        change_orders,
        out_of_flight: line.out_of_flight.iter().map(|i| row_ref(*i)).collect(),
        adjustments: adjustment_rows(data, invoice, "../")
            .into_iter()
            .zip(&invoice.adjustments)
            .filter(|(_, a)| a.line_id.as_deref() == Some(line.line_id.as_str()))
            .map(|(row, _)| row)
            .collect(),
        variances: cp
            .variances
            .iter()
            .filter(|v| v.line_id == line.line_id)
            .map(|v| variance_row(data, v, "../"))
            .collect(),
        milestones: line
            .milestones
            .iter()
            .map(|m| MilestoneRow {
                milestone_id: m.milestone_id.clone(),
                description: m.description.clone(),
                amount: money(m.amount, currency),
                accepted: match (&m.accepted_by, m.accepted_on) {
                    (Some(by), Some(on)) => format!("{by}, {}", format::date(on)),
                    (None, Some(on)) => format::date(on),
                    _ => "not accepted".to_owned(),
                },
                reference: m.acceptance_ref.clone(),
            })
            .collect(),
        timesheets: line
            .timesheets
            .iter()
            .map(|i| &data.timesheets[*i])
            .map(|t| TimesheetRow {
                date: format::date(t.date),
                person: t.person.clone(),
                hours: number(t.hours),
                description: t.description.clone(),
            })
            .collect(),
        sources,
        csv: super::rows::has_rows(line).then(|| format!("{}.csv", line.line_id)),
        tolerance: format!("{}%", number(tolerance)),
    }
}
