//! `invoice.json` exactly as the spec's outputs.md defines it: amounts as strings with
//! exactly the currency's minor-unit decimals, quantities and rates as plain decimal
//! strings, fields in the documented order (a few documented extras after them).

use crate::check::Conservation;
use crate::invoice::{Invoice, LineBill};
use crate::model::{PricingModel, TaxTreatment, amount_text};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct InvoiceJson<'a> {
    number: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    client_id: &'a str,
    period: String,
    issue_date: String,
    due_date: String,
    currency: &'static str,
    lines: Vec<LineJson<'a>>,
    adjustments: Vec<AdjustmentJson<'a>>,
    subtotal: String,
    tax_treatment: &'static str,
    tax_rate: Option<String>,
    tax: String,
    total: String,
    legal_note: Option<&'a str>,
}

#[derive(Serialize)]
struct LineJson<'a> {
    line_id: &'a str,
    description: &'a str,
    model: &'static str,
    quantity: String,
    unit_price: Option<String>,
    unit_price_currency: Option<&'static str>,
    fx_rate: Option<String>,
    fx_source: Option<&'a str>,
    gross: String,
    over_delivery: String,
    net: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<Vec<SegmentJson>>,
    /// Extra: the client's purchase-order reference.
    po_number: Option<&'a str>,
    /// Extra: the milestones billed on the line in the period (milestone lines only).
    #[serde(skip_serializing_if = "Option::is_none")]
    milestones: Option<Vec<&'a str>>,
}

#[derive(Serialize)]
struct SegmentJson {
    from: String,
    to: String,
    quantity: String,
    unit_price: String,
    amount: String,
}

#[derive(Serialize)]
struct AdjustmentJson<'a> {
    adjustment_id: &'a str,
    kind: &'static str,
    reason: &'static str,
    net: String,
    invoice_number: Option<&'a str>,
    /// Extras: the line it concerns and its description.
    line_id: Option<&'a str>,
    description: Option<&'a str>,
}

/// An exact decimal without trailing zeros (`5419.4895`, `12`).
fn exact(value: Decimal) -> String {
    value.normalize().to_string()
}

fn line_json(line: &LineBill) -> LineJson<'_> {
    let quantity = match line.model {
        PricingModel::MediaPct => amount_text(line.quantity, line.currency),
        _ => line.quantity.to_string(),
    };
    LineJson {
        line_id: &line.line_id,
        description: &line.description,
        model: line.model.as_str(),
        quantity,
        unit_price: line.unit_price.map(|p| p.to_string()),
        unit_price_currency: match line.model {
            PricingModel::MediaPct | PricingModel::Milestone => None,
            _ => Some(line.currency.code()),
        },
        fx_rate: line.fx.as_ref().map(|fx| fx.rate.to_string()),
        fx_source: line.fx.as_ref().map(|fx| fx.source.as_str()),
        gross: amount_text(line.cap.gross, line.currency),
        over_delivery: amount_text(line.cap.over, line.currency),
        net: amount_text(line.net, line.fx.as_ref().map_or(line.currency, |fx| fx.to)),
        segments: line.has_segments().then(|| {
            line.segments
                .iter()
                .map(|s| SegmentJson {
                    from: s.from.to_string(),
                    to: s.to.to_string(),
                    quantity: exact(s.quantity),
                    unit_price: s.unit_price.to_string(),
                    amount: exact(s.amount),
                })
                .collect()
        }),
        po_number: line.po_number.as_deref(),
        milestones: (line.model == PricingModel::Milestone).then(|| {
            line.milestones
                .iter()
                .map(|m| m.milestone_id.as_str())
                .collect()
        }),
    }
}

/// The bytes of `invoice.json`: two-space indent, LF line ends, a final LF.
pub fn invoice(invoice: &Invoice) -> Vec<u8> {
    let money = |amount| amount_text(amount, invoice.currency);
    let (tax_treatment, tax_rate) = match invoice.tax_treatment {
        TaxTreatment::Standard { rate } => ("standard", Some(rate.to_string())),
        TaxTreatment::ReverseCharge => ("reverse_charge", None),
        TaxTreatment::Exempt => ("exempt", None),
    };
    let json = InvoiceJson {
        number: &invoice.number,
        kind: invoice.kind.as_str(),
        client_id: &invoice.client_id,
        period: invoice.period.to_string(),
        issue_date: invoice.issue_date.to_string(),
        due_date: invoice.due_date.to_string(),
        currency: invoice.currency.code(),
        lines: invoice.lines.iter().map(line_json).collect(),
        adjustments: invoice
            .adjustments
            .iter()
            .map(|a| AdjustmentJson {
                adjustment_id: &a.adjustment_id,
                kind: a.kind.as_str(),
                reason: a.reason.as_str(),
                net: money(a.net),
                invoice_number: a.invoice_number.as_deref(),
                line_id: a.line_id.as_deref(),
                description: a.description.as_deref(),
            })
            .collect(),
        subtotal: money(invoice.subtotal),
        tax_treatment,
        tax_rate,
        tax: money(invoice.tax),
        total: money(invoice.total),
        legal_note: invoice.legal_note.as_deref(),
    };
    let mut bytes = serde_json::to_vec_pretty(&json).expect("invoice JSON has only string keys");
    bytes.push(b'\n');
    bytes
}

#[derive(Serialize)]
struct AccountJson<'a> {
    client_id: &'a str,
    period: String,
    as_of: String,
    currency: &'static str,
    documents: Vec<DocumentJson<'a>>,
    account_credit: String,
    ar: String,
    dso: Option<String>,
    payments: Vec<PaymentJson<'a>>,
    /// Extra: account credit applied at the period's start (from a credit note, or
    /// from earlier unapplied cash when `from` is null).
    credits_applied: Vec<CreditJson<'a>>,
}

#[derive(Serialize)]
struct DocumentJson<'a> {
    number: &'a str,
    issue_date: String,
    due_date: String,
    total: String,
    paid: String,
    balance: String,
    status: &'static str,
    days_past_due: i64,
    bucket: Option<&'static str>,
    /// Extra: `invoice` or `credit_note`.
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct PaymentJson<'a> {
    payment_id: &'a str,
    received_on: String,
    amount: String,
    applied: Vec<AppliedJson<'a>>,
    to_credit: String,
    /// Extra: the remittance advice's document number, if any.
    invoice_number: Option<&'a str>,
}

#[derive(Serialize)]
struct AppliedJson<'a> {
    number: &'a str,
    amount: String,
}

#[derive(Serialize)]
struct CreditJson<'a> {
    from: Option<&'a str>,
    number: &'a str,
    amount: String,
}

/// The bytes of `account.json`.
pub fn account(statement: &crate::account::Statement) -> Vec<u8> {
    let money = |amount| amount_text(amount, statement.currency);
    fn applied(a: &crate::account::Applied, currency: crate::model::Currency) -> AppliedJson<'_> {
        AppliedJson {
            number: &a.number,
            amount: amount_text(a.amount, currency),
        }
    }
    let json = AccountJson {
        client_id: &statement.client_id,
        period: statement.period.to_string(),
        as_of: statement.as_of.to_string(),
        currency: statement.currency.code(),
        documents: statement
            .documents
            .iter()
            .map(|d| DocumentJson {
                number: &d.number,
                issue_date: d.issue_date.to_string(),
                due_date: d.due_date.to_string(),
                total: money(d.total),
                paid: money(d.paid),
                balance: money(d.balance),
                status: d.status.as_str(),
                days_past_due: d.days_past_due,
                bucket: d.bucket,
                kind: d.kind.as_str(),
            })
            .collect(),
        account_credit: money(statement.account_credit),
        ar: money(statement.ar),
        dso: statement.dso.map(|dso| {
            let mut one_decimal = dso;
            one_decimal.rescale(1);
            one_decimal.to_string()
        }),
        payments: statement
            .payments
            .iter()
            .map(|p| PaymentJson {
                payment_id: &p.payment_id,
                received_on: p.received_on.to_string(),
                amount: money(p.amount),
                applied: p
                    .applied
                    .iter()
                    .map(|a| applied(a, statement.currency))
                    .collect(),
                to_credit: money(p.to_credit),
                invoice_number: p.invoice_number.as_deref(),
            })
            .collect(),
        credits_applied: statement
            .credits
            .iter()
            .map(|c| CreditJson {
                from: c.from.as_deref(),
                number: &c.applied.number,
                amount: money(c.applied.amount),
            })
            .collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&json).expect("account JSON has only string keys");
    bytes.push(b'\n');
    bytes
}

#[derive(Serialize)]
struct ChecklistJson<'a> {
    client_id: Option<&'a str>,
    period: String,
    steps: Vec<StepJson<'a>>,
}

#[derive(Serialize)]
struct StepJson<'a> {
    id: &'a str,
    kind: &'static str,
    status: &'static str,
    summary: &'a str,
    details: &'a [String],
    /// Extras for manual steps.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    not_applicable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_off_by: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_off_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<String>,
}

fn evidence_text(evidence: &crate::model::Evidence) -> String {
    match evidence {
        crate::model::Evidence::Attachment(path) => {
            format!("attachments/{}", crate::error::display_path(path))
        }
        crate::model::Evidence::Url(url) => url.clone(),
    }
}

/// The bytes of `checklist.json` (a client's; the agency's has `client_id` null).
pub fn checklist(checklist: &crate::checklist::Checklist) -> Vec<u8> {
    let json = ChecklistJson {
        client_id: checklist.client_id.as_deref(),
        period: checklist.period.to_string(),
        steps: checklist
            .steps
            .iter()
            .map(|s| StepJson {
                id: &s.id,
                kind: if s.manual { "manual" } else { "auto" },
                status: s.status.as_str(),
                summary: &s.summary,
                details: &s.details,
                not_applicable: s.not_applicable,
                owner: s.owner.as_deref(),
                signed_off_by: s.signed_off_by.as_deref(),
                signed_off_at: s.signed_off_at.as_deref(),
                evidence: s.evidence.as_ref().map(evidence_text),
            })
            .collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&json).expect("checklist JSON has only string keys");
    bytes.push(b'\n');
    bytes
}

#[derive(Serialize)]
struct RowJson {
    file: String,
    line: u64,
    source_campaign_id: String,
    date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_of: Option<String>,
}

#[derive(Serialize)]
struct LeafJson {
    file: String,
    line: u64,
}

#[derive(Serialize)]
struct VarianceJson<'a> {
    client_id: &'a str,
    line_id: &'a str,
    cause: &'static str,
    summary: &'a str,
    days: Vec<String>,
    rows: Vec<String>,
    explained: bool,
    explained_by: Option<String>,
}

/// One export's conservation report in `exceptions.json`; read back from sealed
/// periods too (`issued`).
#[derive(Serialize, Deserialize)]
pub struct ConservationJson {
    file: String,
    source: String,
    rows_read: usize,
    billed: usize,
    out_of_flight: usize,
    unmapped: usize,
    duplicates: usize,
    totals: usize,
    blank: usize,
}

impl From<&Conservation> for ConservationJson {
    fn from(c: &Conservation) -> ConservationJson {
        ConservationJson {
            file: crate::error::display_path(&c.file),
            source: c.source.clone(),
            rows_read: c.rows_read,
            billed: c.billed,
            out_of_flight: c.out_of_flight,
            unmapped: c.unmapped,
            duplicates: c.duplicate,
            totals: c.total,
            blank: c.blank,
        }
    }
}

impl From<ConservationJson> for Conservation {
    fn from(c: ConservationJson) -> Conservation {
        Conservation {
            file: c.file.into(),
            source: c.source,
            rows_read: c.rows_read,
            billed: c.billed,
            out_of_flight: c.out_of_flight,
            unmapped: c.unmapped,
            duplicate: c.duplicates,
            total: c.totals,
            blank: c.blank,
        }
    }
}

#[derive(Serialize)]
struct ExceptionsJson<'a> {
    period: String,
    unmapped: Vec<RowJson>,
    duplicates: Vec<RowJson>,
    out_of_flight: Vec<RowJson>,
    totals: Vec<LeafJson>,
    variances: Vec<VarianceJson<'a>>,
    single_source: &'a [String],
    conservation: Vec<ConservationJson>,
}

/// The bytes of `agency/<period>/exceptions.json`: every row not billed for a reason,
/// every total row, every variance, each with file:line, and the conservation report.
pub fn exceptions(
    data: &crate::model::PeriodData,
    books: &crate::invoice::PeriodBooks,
    review: &crate::build::Review,
) -> Vec<u8> {
    use crate::model::RowClass;
    let row = |index: u32| {
        let (r, origin) = (&data.rows[index], data.rows.origin(index));
        RowJson {
            file: crate::error::display_path(&data.exports[origin.export()].path),
            line: data.line(origin),
            source_campaign_id: data.rows.source_campaign_id(r).to_string(),
            date: r.date.to_string(),
            duplicate_of: match r.class {
                RowClass::Duplicate { of } => Some(crate::checklist::row_at(data, of)),
                _ => None,
            },
        }
    };
    let of_class = |want: fn(&RowClass) -> bool| {
        (data.rows.indexed())
            .filter(|(_, r)| want(&r.class))
            .map(|(i, _)| row(i))
            .collect()
    };
    let totals = data
        .exports
        .iter()
        .flat_map(|e| {
            e.total_lines.iter().map(move |line| LeafJson {
                file: crate::error::display_path(&e.path),
                line: *line,
            })
        })
        .collect();
    let json = ExceptionsJson {
        period: data.period.to_string(),
        unmapped: of_class(|c| *c == RowClass::Unmapped),
        duplicates: of_class(|c| matches!(c, RowClass::Duplicate { .. })),
        out_of_flight: books.out_of_flight.iter().copied().map(row).collect(),
        totals,
        variances: review
            .variances
            .variances
            .iter()
            .map(|v| VarianceJson {
                client_id: &v.client_id,
                line_id: &v.line_id,
                cause: v.cause.as_str(),
                summary: &v.summary,
                days: v.days.iter().map(ToString::to_string).collect(),
                rows: v
                    .rows
                    .iter()
                    .map(|r| crate::checklist::row_at(data, *r))
                    .collect(),
                explained: v.explained_by.is_some(),
                explained_by: v.explained_by.as_ref().map(|e| match e {
                    crate::variance::ExplainedBy::Cap => "the cap".to_owned(),
                    crate::variance::ExplainedBy::Note(i) => data.explanations[*i].at.file_line(),
                    crate::variance::ExplainedBy::Adjustment(id) => format!("adjustment {id}"),
                }),
            })
            .collect(),
        single_source: &review.variances.single_source,
        conservation: review.conservation.iter().map(Into::into).collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&json).expect("exceptions JSON has only string keys");
    bytes.push(b'\n');
    bytes
}
