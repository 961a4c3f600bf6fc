//! Issued: what a sealed period issued, read back from its stored bundles.
//!
//! Issued documents are facts (seal.md): later periods continue from them, not from a
//! recomputation. Each client's `invoice.json`, `account.json` and `checklist.json`,
//! and the agency's `checklist.json` and `exceptions.json`, become the same model types
//! an open period computes, so billing, settlement and the navigation pages go on as
//! if the period had just been computed, with the figures that were issued.
//!
//! What is read back is figures, not evidence: a line's days, rows and segments stay
//! empty, since a sealed period's pages are published as stored and never re-rendered.

use crate::account::{
    self, Applied, CreditApplication, DocumentState, PaymentApplication, Statement, Status,
};
use crate::build::Review;
use crate::checklist::{Checklist, Step, StepStatus};
use crate::error::display_path;
use crate::ingest::Cell;
use crate::invoice::{AdjustmentRow, Cap, DocumentType, FxUse, Invoice, LineBill, PeriodBooks};
use crate::model::{
    AdjustmentKind, CauseCode, Currency, Evidence, PeriodData, PricingModel, Project, TaxTreatment,
};
use crate::sealed::ReadBack;
use crate::variance::{ExplainedBy, PeriodVariances, Variance};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A sealed period as issued: its documents, statements of account and review.
#[derive(Debug)]
pub struct IssuedPeriod {
    pub books: PeriodBooks,
    /// One per client with a bundle, in the project's client order.
    pub statements: Vec<Statement>,
    pub review: Review,
}

/// A stored file that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", display_path(.file))]
pub struct IssuedError {
    /// Relative to the project.
    pub file: PathBuf,
    pub reason: String,
}

/// Reads back the sealed period `data` from its stored bundles (`stored`, paths
/// relative to the site).
pub fn read(
    project: &Project,
    data: &PeriodData,
    stored: &ReadBack,
) -> Result<IssuedPeriod, IssuedError> {
    let period = data.period.to_string();
    let reader = Reader {
        store: Path::new("periods")
            .join(&period)
            .join(crate::sealed::STORE),
        stored,
    };
    let mut invoices = Vec::new();
    let mut statements = Vec::new();
    let mut checklists = Vec::new();
    for client in &project.clients {
        let bundle = Path::new("clients").join(&client.client_id).join(&period);
        let Some(account) = reader.optional::<AccountFile>(&bundle.join("account.json"))? else {
            continue;
        };
        statements.push(reader.statement(account, &bundle)?);
        if let Some(invoice) = reader.optional::<InvoiceFile>(&bundle.join("invoice.json"))? {
            invoices.push(reader.invoice(project, data, invoice, &bundle)?);
        }
        let checklist: ChecklistFile = reader.required(&bundle.join("checklist.json"))?;
        checklists.push(reader.checklist(checklist, data, &bundle)?);
    }
    let clients = crate::seal::bundle::count(stored.keys()).saturating_sub(1);
    if clients != statements.len() {
        return Err(reader.error(
            Path::new("clients"),
            format!(
                "holds {clients} client bundles, of which {} belong to clients in clients.csv; a client with issued documents stays in clients.csv",
                statements.len()
            ),
        ));
    }
    let agency = Path::new("agency").join(&period);
    let exceptions: ExceptionsFile = reader.required(&agency.join("exceptions.json"))?;
    let agency_checklist: ChecklistFile = reader.required(&agency.join("checklist.json"))?;
    let review = Review {
        variances: reader.variances(&exceptions, data, &agency)?,
        checklists,
        agency: reader.checklist(agency_checklist, data, &agency)?,
        conservation: exceptions
            .conservation
            .into_iter()
            .map(Into::into)
            .collect(),
        client_rows: Default::default(),
    };
    Ok(IssuedPeriod {
        books: PeriodBooks {
            period: data.period,
            invoices,
            out_of_flight: Vec::new(),
        },
        statements,
        review,
    })
}

struct Reader<'a> {
    /// `periods/<period>/sealed`, for messages.
    store: PathBuf,
    stored: &'a ReadBack,
}

impl Reader<'_> {
    fn error(&self, path: &Path, reason: impl Into<String>) -> IssuedError {
        IssuedError {
            file: self.store.join(path),
            reason: reason.into(),
        }
    }

    fn optional<T: DeserializeOwned>(&self, path: &Path) -> Result<Option<T>, IssuedError> {
        let Some(bytes) = self.stored.get(path) else {
            return Ok(None);
        };
        serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| self.error(path, format!("cannot be read back: {e}")))
    }

    fn required<T: DeserializeOwned>(&self, path: &Path) -> Result<T, IssuedError> {
        self.optional(path)?
            .ok_or_else(|| self.error(path, "is missing from the sealed bundle"))
    }

    fn word<T: Cell>(&self, path: &Path, text: &str) -> Result<T, IssuedError> {
        T::parse(text).ok_or_else(|| self.error(path, format!("`{text}` is not {}", T::expected())))
    }

    fn currency(&self, path: &Path, code: &str) -> Result<Currency, IssuedError> {
        Currency::from_code(code)
            .ok_or_else(|| self.error(path, format!("`{code}` is not a currency code")))
    }

    fn statement(&self, file: AccountFile, bundle: &Path) -> Result<Statement, IssuedError> {
        let path = bundle.join("account.json");
        let period = self.period(&path, &file.period)?;
        let mut documents = Vec::new();
        for d in file.documents {
            let kind = match d.kind.as_str() {
                "credit_note" => DocumentType::CreditNote,
                _ => DocumentType::Invoice,
            };
            let status = match d.status.as_str() {
                "paid" => Status::Paid,
                "overdue" => Status::Overdue,
                "partially_paid" => Status::PartiallyPaid,
                "open" => Status::Open,
                "credit_note" => Status::CreditNote,
                other => return Err(self.error(&path, format!("`{other}` is not a status"))),
            };
            documents.push(DocumentState {
                number: d.number,
                kind,
                // rules.md §8: a document is issued on its period's last day.
                period: crate::model::Period::of(d.issue_date),
                issue_date: d.issue_date,
                due_date: d.due_date,
                total: d.total,
                paid: d.paid,
                balance: d.balance,
                status,
                days_past_due: d.days_past_due,
                bucket: account::bucket(d.days_past_due),
            });
        }
        let applied = |a: AppliedFile| Applied {
            number: a.number,
            amount: a.amount,
        };
        Ok(Statement {
            client_id: file.client_id,
            period,
            as_of: file.as_of,
            currency: self.currency(&path, &file.currency)?,
            documents,
            account_credit: file.account_credit,
            ar: file.ar,
            dso: file.dso,
            credits: file
                .credits_applied
                .into_iter()
                .map(|c| CreditApplication {
                    from: c.from,
                    applied: Applied {
                        number: c.number,
                        amount: c.amount,
                    },
                })
                .collect(),
            payments: file
                .payments
                .into_iter()
                .map(|p| PaymentApplication {
                    payment_id: p.payment_id,
                    received_on: p.received_on,
                    amount: p.amount,
                    invoice_number: p.invoice_number,
                    applied: p.applied.into_iter().map(applied).collect(),
                    to_credit: p.to_credit,
                })
                .collect(),
        })
    }

    fn period(&self, path: &Path, text: &str) -> Result<crate::model::Period, IssuedError> {
        crate::model::Period::parse(text)
            .ok_or_else(|| self.error(path, format!("`{text}` is not a period")))
    }

    fn invoice(
        &self,
        project: &Project,
        data: &PeriodData,
        file: InvoiceFile,
        bundle: &Path,
    ) -> Result<Invoice, IssuedError> {
        let path = bundle.join("invoice.json");
        let currency = self.currency(&path, &file.currency)?;
        let mut lines = Vec::new();
        for l in file.lines {
            let model: PricingModel = self.word(&path, &l.model)?;
            // Contract currency: the line's, as contracts.csv says today, else the rate's.
            let contract = match project.line(&l.line_id) {
                Some(line) => line.currency,
                None => match &l.unit_price_currency {
                    Some(code) => self.currency(&path, code)?,
                    None => currency,
                },
            };
            let billed = l.gross - l.over_delivery;
            let fx = l.fx_rate.map(|rate| FxUse {
                from: contract,
                to: currency,
                rate,
                source: l.fx_source.clone().unwrap_or_default(),
                as_of: data.period.last(),
            });
            let billed_milestones = match (&l.milestones, model) {
                (Some(ids), _) => ids.as_slice(),
                (None, PricingModel::Milestone) => {
                    let reason = format!(
                        "milestone line `{}` does not name the milestones it billed (sealed by an older tallyseal); billing on would risk billing them twice",
                        l.line_id
                    );
                    return Err(self.error(&path, reason));
                }
                (None, _) => &[],
            };
            let milestones = data
                .milestones
                .iter()
                .filter(|m| m.line_id == l.line_id && billed_milestones.contains(&m.milestone_id))
                .cloned()
                .collect();
            lines.push(LineBill {
                line_id: l.line_id,
                description: l.description,
                model,
                po_number: l.po_number,
                currency: contract,
                flight: (data.period.first(), data.period.last()),
                quantity: l.quantity,
                unit_price: l.unit_price,
                gross_exact: l.gross,
                cap: Cap {
                    gross: l.gross,
                    budget: None,
                    billed_before: Decimal::ZERO,
                    remaining: None,
                    billed,
                    over: l.over_delivery,
                },
                fx,
                net: l.net,
                days: Vec::new(),
                segments: Vec::new(),
                change_orders: Vec::new(),
                rows: Vec::new(),
                out_of_flight: Vec::new(),
                spend_fx: Vec::new(),
                milestones,
                timesheets: Vec::new(),
            });
        }
        let mut adjustments = Vec::new();
        for a in file.adjustments {
            let index = data
                .adjustments
                .iter()
                .position(|x| x.adjustment_id == a.adjustment_id)
                .ok_or_else(|| {
                    let id = &a.adjustment_id;
                    self.error(
                        &path,
                        format!("adjustment `{id}` is not in the period's adjustments.csv"),
                    )
                })?;
            adjustments.push(AdjustmentRow {
                index,
                kind: self.word::<AdjustmentKind>(&path, &a.kind)?,
                reason: self.word::<CauseCode>(&path, &a.reason)?,
                adjustment_id: a.adjustment_id,
                line_id: a.line_id,
                description: a.description,
                invoice_number: a.invoice_number,
                net: a.net,
            });
        }
        let tax_treatment = match (file.tax_treatment.as_str(), file.tax_rate) {
            ("standard", Some(rate)) => TaxTreatment::Standard { rate },
            ("reverse_charge", _) => TaxTreatment::ReverseCharge,
            ("exempt", _) => TaxTreatment::Exempt,
            (other, _) => {
                return Err(self.error(&path, format!("`{other}` is not a tax treatment")));
            }
        };
        Ok(Invoice {
            number: file.number,
            kind: match file.kind.as_str() {
                "credit_note" => DocumentType::CreditNote,
                _ => DocumentType::Invoice,
            },
            client_id: file.client_id,
            period: self.period(&path, &file.period)?,
            issue_date: file.issue_date,
            due_date: file.due_date,
            currency,
            lines,
            adjustments,
            subtotal: file.subtotal,
            tax_treatment,
            tax: file.tax,
            total: file.total,
            legal_note: file.legal_note,
        })
    }

    fn checklist(
        &self,
        file: ChecklistFile,
        data: &PeriodData,
        bundle: &Path,
    ) -> Result<Checklist, IssuedError> {
        let path = bundle.join("checklist.json");
        let mut steps = Vec::new();
        for s in file.steps {
            let status = match s.status.as_str() {
                "pass" => StepStatus::Pass,
                "warn" => StepStatus::Warn,
                "fail" => StepStatus::Fail,
                other => return Err(self.error(&path, format!("`{other}` is not a status"))),
            };
            steps.push(Step {
                id: s.id,
                manual: s.kind == "manual",
                status,
                summary: s.summary,
                details: s.details,
                not_applicable: s.not_applicable,
                owner: s.owner,
                signed_off_by: s.signed_off_by,
                signed_off_at: s.signed_off_at,
                evidence: s.evidence.map(|e| match e.strip_prefix("attachments/") {
                    Some(file) => Evidence::Attachment(PathBuf::from(file)),
                    None => Evidence::Url(e),
                }),
            });
        }
        Ok(Checklist {
            client_id: file.client_id,
            period: data.period,
            steps,
        })
    }

    fn variances(
        &self,
        file: &ExceptionsFile,
        data: &PeriodData,
        agency: &Path,
    ) -> Result<PeriodVariances, IssuedError> {
        let path = agency.join("exceptions.json");
        let mut variances = Vec::new();
        for v in &file.variances {
            let explained_by = match v.explained_by.as_deref() {
                None => None,
                Some("the cap") => Some(ExplainedBy::Cap),
                Some(text) => Some(match text.strip_prefix("adjustment ") {
                    Some(id) => ExplainedBy::Adjustment(id.to_owned()),
                    None => ExplainedBy::Note(
                        data.explanations
                            .iter()
                            .position(|e| e.at.file_line() == text)
                            .ok_or_else(|| {
                                self.error(&path, format!("`{text}` is no row of variances.csv"))
                            })?,
                    ),
                }),
            };
            variances.push(Variance {
                client_id: v.client_id.clone(),
                line_id: v.line_id.clone(),
                cause: self.word(&path, &v.cause)?,
                summary: v.summary.clone(),
                days: v.days.clone(),
                rows: Vec::new(),
                explained_by,
            });
        }
        Ok(PeriodVariances {
            variances,
            single_source: file.single_source.clone(),
        })
    }
}

// The machine-readable files, as render::json writes them; only the fields read back.

#[derive(Deserialize)]
struct InvoiceFile {
    number: String,
    #[serde(rename = "type")]
    kind: String,
    client_id: String,
    period: String,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    currency: String,
    lines: Vec<LineFile>,
    adjustments: Vec<AdjustmentFile>,
    subtotal: Decimal,
    tax_treatment: String,
    tax_rate: Option<Decimal>,
    tax: Decimal,
    total: Decimal,
    legal_note: Option<String>,
}

#[derive(Deserialize)]
struct LineFile {
    line_id: String,
    description: String,
    model: String,
    quantity: Decimal,
    unit_price: Option<Decimal>,
    unit_price_currency: Option<String>,
    fx_rate: Option<Decimal>,
    fx_source: Option<String>,
    gross: Decimal,
    over_delivery: Decimal,
    net: Decimal,
    #[serde(default)]
    po_number: Option<String>,
    /// Milestone lines only.
    #[serde(default)]
    milestones: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct AdjustmentFile {
    adjustment_id: String,
    kind: String,
    reason: String,
    net: Decimal,
    invoice_number: Option<String>,
    #[serde(default)]
    line_id: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct AccountFile {
    client_id: String,
    period: String,
    as_of: NaiveDate,
    currency: String,
    documents: Vec<DocumentFile>,
    account_credit: Decimal,
    ar: Decimal,
    dso: Option<Decimal>,
    payments: Vec<PaymentFile>,
    #[serde(default)]
    credits_applied: Vec<CreditFile>,
}

#[derive(Deserialize)]
struct DocumentFile {
    number: String,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    total: Decimal,
    paid: Decimal,
    balance: Decimal,
    status: String,
    days_past_due: i64,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Deserialize)]
struct PaymentFile {
    payment_id: String,
    received_on: NaiveDate,
    amount: Decimal,
    applied: Vec<AppliedFile>,
    to_credit: Decimal,
    #[serde(default)]
    invoice_number: Option<String>,
}

#[derive(Deserialize)]
struct AppliedFile {
    number: String,
    amount: Decimal,
}

#[derive(Deserialize)]
struct CreditFile {
    from: Option<String>,
    number: String,
    amount: Decimal,
}

#[derive(Deserialize)]
struct ChecklistFile {
    client_id: Option<String>,
    steps: Vec<StepFile>,
}

#[derive(Deserialize)]
struct StepFile {
    id: String,
    kind: String,
    status: String,
    summary: String,
    details: Vec<String>,
    #[serde(default)]
    not_applicable: bool,
    owner: Option<String>,
    signed_off_by: Option<String>,
    signed_off_at: Option<String>,
    evidence: Option<String>,
}

#[derive(Deserialize)]
struct ExceptionsFile {
    variances: Vec<VarianceFile>,
    single_source: Vec<String>,
    conservation: Vec<crate::render::json::ConservationJson>,
}

#[derive(Deserialize)]
struct VarianceFile {
    client_id: String,
    line_id: String,
    cause: String,
    summary: String,
    days: Vec<NaiveDate>,
    explained_by: Option<String>,
}
