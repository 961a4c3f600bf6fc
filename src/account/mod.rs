//! Cash and aging (rules.md §9): each period's documents issued, credit notes and unapplied
//! cash applied as account credit, then each payment of the period applied in order, and
//! every document's state at the period's end.

use crate::error::{ErrorKind, InputError};
use crate::invoice::{DocumentType, PeriodBooks};
use crate::model::{
    Currency, Exact, Overflow, Payment, Period, PeriodData, Project, Rounding, sum,
};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Why cash cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Reference(Box<InputError>),
    #[error(
        "periods/{period}: the account of client `{client_id}` is too large to compute exactly"
    )]
    Overflow { period: Period, client_id: String },
}

/// A document's state at a period's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Paid,
    Overdue,
    PartiallyPaid,
    Open,
    CreditNote,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Paid => "paid",
            Status::Overdue => "overdue",
            Status::PartiallyPaid => "partially_paid",
            Status::Open => "open",
            Status::CreditNote => "credit_note",
        }
    }
}

/// Aging buckets of overdue documents, by days past due.
pub fn bucket(days_past_due: i64) -> Option<&'static str> {
    match days_past_due {
        ..=0 => None,
        1..=30 => Some("1-30"),
        31..=60 => Some("31-60"),
        61..=90 => Some("61-90"),
        _ => Some("90+"),
    }
}

/// A document of the client, as the statement of a period shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentState {
    pub number: String,
    pub kind: DocumentType,
    pub period: Period,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub total: Decimal,
    pub paid: Decimal,
    pub balance: Decimal,
    pub status: Status,
    pub days_past_due: i64,
    pub bucket: Option<&'static str>,
}

/// Where money went: an amount applied to a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub number: String,
    pub amount: Decimal,
}

/// One payment of the period and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentApplication {
    pub payment_id: String,
    pub received_on: NaiveDate,
    pub amount: Decimal,
    pub invoice_number: Option<String>,
    pub applied: Vec<Applied>,
    pub to_credit: Decimal,
}

/// Account credit applied at the start of the period: from a credit note (its number)
/// or from earlier unapplied cash and credit (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditApplication {
    pub from: Option<String>,
    pub applied: Applied,
}

/// A client's statement of account at a period's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub client_id: String,
    pub period: Period,
    pub as_of: NaiveDate,
    pub currency: Currency,
    /// Every document issued up to the period, oldest first.
    pub documents: Vec<DocumentState>,
    pub account_credit: Decimal,
    pub ar: Decimal,
    pub dso: Option<Decimal>,
    pub credits: Vec<CreditApplication>,
    pub payments: Vec<PaymentApplication>,
}

/// A document on the client's ledger.
#[derive(Debug, Clone)]
struct Entry {
    number: String,
    kind: DocumentType,
    period: Period,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    total: Decimal,
    paid: Decimal,
}

impl Entry {
    fn balance(&self) -> Decimal {
        match self.kind {
            DocumentType::Invoice => self.total - self.paid,
            DocumentType::CreditNote => Decimal::ZERO,
        }
    }

    fn is_open(&self) -> bool {
        self.kind == DocumentType::Invoice && self.balance() > Decimal::ZERO
    }
}

/// One client's documents (in issue order: oldest first) and account credit.
#[derive(Debug, Clone, Default)]
struct Ledger {
    entries: Vec<Entry>,
    credit: Decimal,
    started: bool,
}

impl From<&Statement> for Ledger {
    /// The ledger as a statement of account left it.
    fn from(statement: &Statement) -> Ledger {
        Ledger {
            entries: statement
                .documents
                .iter()
                .map(|d| Entry {
                    number: d.number.clone(),
                    kind: d.kind,
                    period: d.period,
                    issue_date: d.issue_date,
                    due_date: d.due_date,
                    total: d.total,
                    paid: d.paid,
                })
                .collect(),
            credit: statement.account_credit,
            started: true,
        }
    }
}

impl Ledger {
    /// Applies up to `amount` to the open invoice at `index`; returns what was applied.
    fn apply(&mut self, index: usize, amount: Decimal) -> Result<Decimal, Overflow> {
        let entry = &mut self.entries[index];
        let applied = amount.min(entry.balance()).max(Decimal::ZERO);
        entry.paid = entry.paid.plus(applied)?;
        Ok(applied)
    }

    /// Applies `amount` to open invoices oldest first (of `candidates` when given);
    /// returns what is left and where it went.
    fn apply_oldest_first(
        &mut self,
        mut amount: Decimal,
        only: Option<&[String]>,
    ) -> Result<(Decimal, Vec<Applied>), Overflow> {
        let mut applied = Vec::new();
        for index in 0..self.entries.len() {
            if amount <= Decimal::ZERO {
                break;
            }
            let entry = &self.entries[index];
            if !entry.is_open() || only.is_some_and(|names| !names.contains(&entry.number)) {
                continue;
            }
            let part = self.apply(index, amount)?;
            amount -= part;
            applied.push(Applied {
                number: self.entries[index].number.clone(),
                amount: part,
            });
        }
        Ok((amount, applied))
    }
}

/// Settles every period of the project: one statement per client and period from the
/// client's first period of activity on.
pub fn settle(
    project: &Project,
    books: &[PeriodBooks],
) -> Result<Vec<Vec<Statement>>, AccountError> {
    settle_after(project, books, Vec::new())
}

/// Continues the statements of the first periods as issued (`issued`, read back from
/// their sealed bundles): each client's ledger opens as its last issued statement
/// closed, and only the periods after them are settled.
pub fn settle_after(
    project: &Project,
    books: &[PeriodBooks],
    issued: Vec<Vec<Statement>>,
) -> Result<Vec<Vec<Statement>>, AccountError> {
    let mut ledgers: Vec<Ledger> = project
        .clients
        .iter()
        .map(|client| {
            issued
                .iter()
                .rev()
                .find_map(|period| period.iter().find(|s| s.client_id == client.client_id))
                .map(Ledger::from)
                .unwrap_or_default()
        })
        .collect();
    let mut statements = issued;
    let done = statements.len();
    for (data, period_books) in project.periods.iter().zip(books).skip(done) {
        let mut period_statements = Vec::new();
        for (client, ledger) in project.clients.iter().zip(&mut ledgers) {
            let overflow = |_| AccountError::Overflow {
                period: data.period,
                client_id: client.client_id.clone(),
            };
            let invoice = period_books
                .invoices
                .iter()
                .find(|i| i.client_id == client.client_id);
            let payments: Vec<&Payment> = {
                let mut listed: Vec<&Payment> = data
                    .payments
                    .iter()
                    .filter(|p| p.client_id == client.client_id)
                    .collect();
                listed.sort_by(|a, b| {
                    (a.received_on, &a.payment_id).cmp(&(b.received_on, &b.payment_id))
                });
                listed
            };
            if invoice.is_none() && payments.is_empty() && !ledger.started {
                continue;
            }
            ledger.started = true;
            check_adjustment_references(data, &client.client_id, ledger)?;

            // The period's document is issued first.
            let mut credits = Vec::new();
            if let Some(invoice) = invoice {
                ledger.entries.push(Entry {
                    number: invoice.number.clone(),
                    kind: invoice.kind,
                    period: data.period,
                    issue_date: invoice.issue_date,
                    due_date: invoice.due_date,
                    total: invoice.total,
                    paid: Decimal::ZERO,
                });
                if invoice.kind == DocumentType::CreditNote {
                    // Its whole credit goes first to the invoices its adjustments name.
                    let named: Vec<String> = invoice
                        .adjustments
                        .iter()
                        .filter_map(|a| a.invoice_number.clone())
                        .collect();
                    let (rest, applied) = ledger
                        .apply_oldest_first(-invoice.total, Some(&named))
                        .map_err(overflow)?;
                    credits.extend(applied.into_iter().map(|a| CreditApplication {
                        from: Some(invoice.number.clone()),
                        applied: a,
                    }));
                    ledger.credit = ledger.credit.plus(rest).map_err(overflow)?;
                }
            }
            // Account credit (credit notes' rest, unapplied cash) to open invoices, oldest first.
            let (rest, applied) = ledger
                .apply_oldest_first(ledger.credit, None)
                .map_err(overflow)?;
            ledger.credit = rest;
            credits.extend(applied.into_iter().map(|a| CreditApplication {
                from: None,
                applied: a,
            }));

            // Then each payment of the period, in (received_on, payment_id) order.
            let mut applications = Vec::new();
            for payment in payments {
                let application = apply_payment(ledger, payment, data)?;
                ledger.credit = ledger
                    .credit
                    .plus(application.to_credit)
                    .map_err(overflow)?;
                applications.push(application);
            }
            let statement = statement(
                project.config.invoice.rounding,
                client,
                data,
                ledger,
                invoice.map(|i| (i.kind, i.total)),
                credits,
                applications,
            )
            .map_err(overflow)?;
            period_statements.push(statement);
        }
        statements.push(period_statements);
    }
    Ok(statements)
}

/// Steps 1–4 of rules.md §9 for one payment.
fn apply_payment(
    ledger: &mut Ledger,
    payment: &Payment,
    data: &PeriodData,
) -> Result<PaymentApplication, AccountError> {
    let overflow = |_| AccountError::Overflow {
        period: data.period,
        client_id: payment.client_id.clone(),
    };
    let mut rest = payment.amount;
    let mut applied = Vec::new();
    match &payment.invoice_number {
        Some(number) => {
            // 1. The named document, which must be the client's, issued up to this period.
            let Some(index) = ledger.entries.iter().position(|e| &e.number == number) else {
                let kind = ErrorKind::Rule(format!(
                    "invoice_number `{number}` is not a document of client `{}` issued up to {}",
                    payment.client_id, data.period
                ));
                let error = InputError {
                    location: payment.at.clone(),
                    kind,
                };
                return Err(AccountError::Reference(Box::new(error)));
            };
            let part = ledger.apply(index, rest).map_err(overflow)?;
            if part > Decimal::ZERO {
                rest -= part;
                applied.push(Applied {
                    number: number.clone(),
                    amount: part,
                });
            }
        }
        None => {
            // 2. An open invoice whose balance is exactly the amount: the oldest such.
            if let Some(index) = ledger
                .entries
                .iter()
                .position(|e| e.is_open() && e.balance() == rest)
            {
                let part = ledger.apply(index, rest).map_err(overflow)?;
                rest -= part;
                applied.push(Applied {
                    number: ledger.entries[index].number.clone(),
                    amount: part,
                });
            }
        }
    }
    // 3. The rest to open invoices, oldest first; 4. what is left becomes account credit.
    let (left, more) = ledger.apply_oldest_first(rest, None).map_err(overflow)?;
    applied.extend(more);
    Ok(PaymentApplication {
        payment_id: payment.payment_id.clone(),
        received_on: payment.received_on,
        amount: payment.amount,
        invoice_number: payment.invoice_number.clone(),
        applied,
        to_credit: left,
    })
}

/// An adjustment's `invoice_number` must name an invoice (not a credit note) of the
/// same client issued in an earlier period.
fn check_adjustment_references(
    data: &PeriodData,
    client_id: &str,
    ledger: &Ledger,
) -> Result<(), AccountError> {
    for adjustment in data.adjustments.iter().filter(|a| a.client_id == client_id) {
        let Some(number) = &adjustment.invoice_number else {
            continue;
        };
        let found = ledger
            .entries
            .iter()
            .find(|e| &e.number == number && e.period < data.period);
        let problem = match found {
            None => format!(
                "invoice_number `{number}` is not an invoice of client `{client_id}` issued before {}",
                data.period
            ),
            Some(entry) if entry.kind == DocumentType::CreditNote => format!(
                "invoice_number `{number}` is a credit note; an adjustment corrects an invoice"
            ),
            Some(_) => continue,
        };
        let location = adjustment.at.clone();
        let error = InputError {
            location,
            kind: ErrorKind::Rule(problem),
        };
        return Err(AccountError::Reference(Box::new(error)));
    }
    Ok(())
}

fn statement(
    rounding: Rounding,
    client: &crate::model::Client,
    data: &PeriodData,
    ledger: &Ledger,
    invoice: Option<(DocumentType, Decimal)>,
    credits: Vec<CreditApplication>,
    payments: Vec<PaymentApplication>,
) -> Result<Statement, Overflow> {
    let as_of = data.period.last();
    let documents: Vec<DocumentState> = ledger
        .entries
        .iter()
        .map(|e| {
            let balance = e.balance();
            let overdue = as_of > e.due_date;
            let (status, paid) = match e.kind {
                DocumentType::CreditNote => (Status::CreditNote, Decimal::ZERO),
                DocumentType::Invoice if balance.is_zero() => (Status::Paid, e.paid),
                DocumentType::Invoice if overdue => (Status::Overdue, e.paid),
                DocumentType::Invoice if e.paid > Decimal::ZERO => (Status::PartiallyPaid, e.paid),
                DocumentType::Invoice => (Status::Open, e.paid),
            };
            let days_past_due = if status == Status::Overdue {
                (as_of - e.due_date).num_days()
            } else {
                0
            };
            DocumentState {
                number: e.number.clone(),
                kind: e.kind,
                period: e.period,
                issue_date: e.issue_date,
                due_date: e.due_date,
                total: e.total,
                paid,
                balance,
                status,
                days_past_due,
                bucket: bucket(days_past_due),
            }
        })
        .collect();
    let ar = sum(documents.iter().map(|d| d.balance))?;
    // DSO = AR × days(P) / the period's invoice total, to one decimal.
    let dso = match invoice {
        Some((DocumentType::Invoice, total)) if !total.is_zero() => {
            Some(rounding.round_dp(ar.times(Decimal::from(data.period.days()))?.over(total)?, 1))
        }
        _ => None,
    };
    Ok(Statement {
        client_id: client.client_id.clone(),
        period: data.period,
        as_of,
        currency: client.currency,
        documents,
        account_credit: ledger.credit,
        ar,
        dso,
        credits,
        payments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aging_bucket_boundaries() {
        assert_eq!(bucket(0), None);
        assert_eq!((bucket(1), bucket(30)), (Some("1-30"), Some("1-30")));
        assert_eq!((bucket(31), bucket(60)), (Some("31-60"), Some("31-60")));
        assert_eq!((bucket(61), bucket(90)), (Some("61-90"), Some("61-90")));
        assert_eq!(bucket(91), Some("90+"));
    }
}
