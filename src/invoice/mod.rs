//! Invoice: every client's document of every period, computed in period order exactly
//! as rules.md §1–§8 say. The result is a model of its own, independent of any output:
//! each line carries its evidence so pages and proofs render from the same numbers.

mod line;

pub use line::{Cap, DayBill, LineBill, Segment};

use crate::model::{
    AdjustmentKind, ApprovalStatus, Client, Currency, Exact, Period, PeriodData, Project, RowClass,
    TaxTreatment, sum,
};
use crate::reconcile::{CampaignRows, LockedRates, Terms};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};

/// A rate used to convert money, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxUse {
    pub from: Currency,
    pub to: Currency,
    pub rate: Decimal,
    pub source: String,
    pub as_of: NaiveDate,
}

/// Why a period cannot be billed.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error(
        "periods/{period}/fx.csv: line `{line_id}` needs a locked {from}->{to} rate (a row with as_of on or before {}), and there is none",
        .period.last()
    )]
    MissingRate {
        period: Period,
        from: Currency,
        to: Currency,
        line_id: String,
    },
    #[error("periods/{period}: the amounts of line `{line_id}` are too large to compute exactly")]
    Overflow { period: Period, line_id: String },
    #[error(
        "periods/{period}: the invoice of client `{client_id}` is too large to compute exactly"
    )]
    InvoiceOverflow { period: Period, client_id: String },
}

/// An adjustment row of an invoice (rules.md §6).
#[derive(Debug, Clone)]
pub struct AdjustmentRow {
    /// Index into the period's adjustments.
    pub index: usize,
    pub adjustment_id: String,
    pub kind: AdjustmentKind,
    pub reason: crate::model::CauseCode,
    pub line_id: Option<String>,
    pub description: Option<String>,
    pub invoice_number: Option<String>,
    /// `−amount` for credits and make-goods, `+amount` for fees.
    pub net: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentType {
    Invoice,
    CreditNote,
}

impl DocumentType {
    pub fn as_str(&self) -> &'static str {
        match self {
            DocumentType::Invoice => "invoice",
            DocumentType::CreditNote => "credit_note",
        }
    }
}

/// One client's document for one period.
#[derive(Debug, Clone)]
pub struct Invoice {
    pub number: String,
    pub kind: DocumentType,
    pub client_id: String,
    pub period: Period,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub currency: Currency,
    pub lines: Vec<LineBill>,
    pub adjustments: Vec<AdjustmentRow>,
    pub subtotal: Decimal,
    pub tax_treatment: TaxTreatment,
    pub tax: Decimal,
    pub total: Decimal,
    pub legal_note: Option<String>,
}

/// The documents of one period, by client id.
#[derive(Debug, Clone)]
pub struct PeriodBooks {
    pub period: Period,
    pub invoices: Vec<Invoice>,
    /// Mapped rows dated outside the flight of every line of their campaign (rules.md
    /// §2), as indices into the period's rows: never billed, reported.
    pub out_of_flight: Vec<u32>,
}

/// What earlier periods left: billed amounts under caps, milestones billed, adjustments
/// applied, and the running document number.
#[derive(Debug, Clone, Default)]
pub struct History {
    billed: HashMap<String, Decimal>,
    milestones: HashSet<(String, String)>,
    adjustments: HashSet<String>,
    issued: u64,
}

impl History {
    /// Σ billed (contract currency) of a line in the periods so far.
    pub fn billed(&self, line_id: &str) -> Decimal {
        self.billed.get(line_id).copied().unwrap_or_default()
    }

    pub fn milestone_billed(&self, line_id: &str, milestone_id: &str) -> bool {
        self.milestones
            .contains(&(line_id.to_owned(), milestone_id.to_owned()))
    }

    pub fn adjustment_applied(&self, adjustment_id: &str) -> bool {
        self.adjustments.contains(adjustment_id)
    }
    /// Adds an issued document: its number, what its lines billed under their caps,
    /// its milestones and its adjustments.
    fn record(&mut self, invoice: &Invoice) -> Result<(), BillingError> {
        let overflow = |_| BillingError::InvoiceOverflow {
            period: invoice.period,
            client_id: invoice.client_id.clone(),
        };
        self.issued += 1;
        for line in &invoice.lines {
            let billed = self.billed.entry(line.line_id.clone()).or_default();
            *billed = billed.plus(line.cap.billed).map_err(overflow)?;
            for milestone in &line.milestones {
                self.milestones
                    .insert((line.line_id.clone(), milestone.milestone_id.clone()));
            }
        }
        for adjustment in &invoice.adjustments {
            self.adjustments.insert(adjustment.adjustment_id.clone());
        }
        Ok(())
    }
}

/// Bills every period of the project, in order.
pub fn bill(project: &Project) -> Result<Vec<PeriodBooks>, BillingError> {
    bill_after(project, Vec::new())
}

/// Continues the books of the first periods as issued (`issued`, read back from their
/// sealed bundles): their documents become the history, and only the periods after
/// them are billed.
pub fn bill_after(
    project: &Project,
    issued: Vec<PeriodBooks>,
) -> Result<Vec<PeriodBooks>, BillingError> {
    let mut history = History::default();
    for invoice in issued.iter().flat_map(|books| &books.invoices) {
        history.record(invoice)?;
    }
    let mut books = issued;
    for data in &project.periods[books.len()..] {
        books.push(bill_period(project, data, &mut history)?);
    }
    Ok(books)
}

/// Bills one period and records it in `history`. Clients are taken in id order, so
/// documents are numbered in order of (period, client_id) without gaps (rules.md §8).
pub fn bill_period(
    project: &Project,
    data: &PeriodData,
    history: &mut History,
) -> Result<PeriodBooks, BillingError> {
    let rows = CampaignRows::of(data);
    let fx = LockedRates::of(data);
    let out_of_flight = out_of_flight(project, data, &rows);
    let mut out_of_flight_by_campaign: hashbrown::HashMap<&str, Vec<u32>> =
        hashbrown::HashMap::new();
    for &index in &out_of_flight {
        if let Some(campaign) = data.rows.campaign(&data.rows[index]) {
            out_of_flight_by_campaign
                .entry(campaign)
                .or_default()
                .push(index);
        }
    }
    let mut invoices = Vec::new();
    for client in &project.clients {
        if let Some(mut invoice) = bill_client(project, data, client, &rows, &fx, history)? {
            for line in &mut invoice.lines {
                let campaign = project
                    .line(&line.line_id)
                    .and_then(|l| l.campaign.as_deref());
                line.out_of_flight = campaign
                    .and_then(|c| out_of_flight_by_campaign.get(c))
                    .cloned()
                    .unwrap_or_default();
            }
            invoices.push(invoice);
        }
    }
    Ok(PeriodBooks {
        period: data.period,
        invoices,
        out_of_flight,
    })
}

/// The mapped rows of a period outside the flight of every line of their campaign.
fn out_of_flight(project: &Project, data: &PeriodData, rows: &CampaignRows) -> Vec<u32> {
    // The flights of each campaign's lines, by the campaign's index.
    let mut flights = vec![Vec::new(); data.rows.campaigns().len()];
    for line in &project.lines {
        let id = line.campaign.as_deref().and_then(|c| rows.id(c));
        let terms = || Terms::of(line, data.period, &project.periods);
        if let Some((id, flight)) = id.and_then(|id| Some((id, terms().flight()?))) {
            flights[id as usize].push(flight);
        }
    }
    let in_flight = |campaign: u32, day| {
        (flights[campaign as usize].iter()).any(|(first, last)| *first <= day && day <= *last)
    };
    data.rows
        .indexed()
        .filter(|(_, row)| match row.class {
            RowClass::Mapped { campaign } => !in_flight(campaign, row.date),
            _ => false,
        })
        .map(|(index, _)| index)
        .collect()
}

fn bill_client(
    project: &Project,
    data: &PeriodData,
    client: &Client,
    rows: &CampaignRows,
    fx: &LockedRates,
    history: &mut History,
) -> Result<Option<Invoice>, BillingError> {
    let period = data.period;
    let settings = &project.config.invoice;
    let ctx = line::LineContext {
        project,
        data,
        rows,
        fx,
        invoice_currency: client.currency,
        rounding: settings.rounding,
    };
    let mut lines = Vec::new();
    for line in project
        .lines
        .iter()
        .filter(|l| l.client_id == client.client_id)
    {
        let terms = Terms::of(line, period, &project.periods);
        if let Some(bill) = line::bill(&ctx, &terms, history)? {
            lines.push(bill);
        }
    }
    let adjustments: Vec<AdjustmentRow> = data
        .adjustments
        .iter()
        .enumerate()
        .filter(|(_, a)| a.client_id == client.client_id)
        .filter(|(_, a)| a.approval.status(period.last()) == ApprovalStatus::Approved)
        .filter(|(_, a)| !history.adjustment_applied(&a.adjustment_id))
        .map(|(index, a)| AdjustmentRow {
            index,
            adjustment_id: a.adjustment_id.clone(),
            kind: a.kind,
            reason: a.reason,
            line_id: a.line_id.clone(),
            description: a.description.clone(),
            invoice_number: a.invoice_number.clone(),
            net: if a.kind == AdjustmentKind::Fee {
                a.amount
            } else {
                -a.amount
            },
        })
        .collect();
    if lines.is_empty() && adjustments.is_empty() {
        return Ok(None);
    }

    // §7: totals and tax.
    let overflow = |_| BillingError::InvoiceOverflow {
        period,
        client_id: client.client_id.clone(),
    };
    let subtotal = sum(lines
        .iter()
        .map(|l| l.net)
        .chain(adjustments.iter().map(|a| a.net)))
    .map_err(overflow)?;
    let (tax, legal_note) = match client.tax {
        TaxTreatment::Standard { rate } => {
            let tax = subtotal
                .times(rate)
                .and_then(|t| t.over(Decimal::ONE_HUNDRED))
                .map_err(overflow)?;
            (settings.rounding.round(tax, client.currency), None)
        }
        TaxTreatment::ReverseCharge => (Decimal::ZERO, Some(settings.reverse_charge_note.clone())),
        TaxTreatment::Exempt => (Decimal::ZERO, Some(settings.exempt_note.clone())),
    };
    let total = subtotal.plus(tax).map_err(overflow)?;

    // §8: numbering and dates.
    let seq = settings.first_number + history.issued;
    let issue_date = period.last();
    let invoice = Invoice {
        number: settings.number_format.format(seq, period),
        kind: if total < Decimal::ZERO {
            DocumentType::CreditNote
        } else {
            DocumentType::Invoice
        },
        client_id: client.client_id.clone(),
        period,
        issue_date,
        due_date: issue_date
            .checked_add_days(chrono::Days::new(u64::from(client.payment_terms_days)))
            .ok_or(BillingError::InvoiceOverflow {
                period,
                client_id: client.client_id.clone(),
            })?,
        currency: client.currency,
        lines,
        adjustments,
        subtotal,
        tax_treatment: client.tax,
        tax,
        total,
        legal_note,
    };

    history.record(&invoice)?;
    Ok(Some(invoice))
}
