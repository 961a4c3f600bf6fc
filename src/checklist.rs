//! The reconciliation checklist (rules.md §11): for each client and period, the automatic
//! steps in order, each pass / warn / fail with a one-line summary and details pointing at
//! the evidence, then the manual steps of `checklist.csv`; and the agency's checklist over
//! all clients, with `rows_mapped`.

use crate::account::Statement;
use crate::error::Location;
use crate::invoice::{Invoice, PeriodBooks};
use crate::model::{
    ApprovalStatus, ClientScope, Evidence, ManualStatus, PeriodData, Project, Rounding, RowClass,
    TaxTreatment,
};
use crate::variance::{ExplainedBy, PeriodVariances, Variance};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepStatus {
    Pass,
    Warn,
    Fail,
}

impl StepStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            StepStatus::Pass => "pass",
            StepStatus::Warn => "warn",
            StepStatus::Fail => "fail",
        }
    }
}

/// One step of a checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The step's id (automatic steps) or its text (manual steps).
    pub id: String,
    pub manual: bool,
    pub status: StepStatus,
    pub summary: String,
    pub details: Vec<String>,
    /// A manual step marked `n/a`: passes, shown as not applicable.
    pub not_applicable: bool,
    pub owner: Option<String>,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<String>,
    pub evidence: Option<Evidence>,
}

impl Step {
    fn auto(
        id: &str,
        status: StepStatus,
        summary: impl Into<String>,
        details: Vec<String>,
    ) -> Step {
        Step {
            id: id.to_owned(),
            manual: false,
            status,
            summary: summary.into(),
            details,
            not_applicable: false,
            owner: None,
            signed_off_by: None,
            signed_off_at: None,
            evidence: None,
        }
    }
}

/// The automatic steps, in the order of rules.md §11.
pub const AUTOMATIC: [&str; 10] = [
    "sources_sealed",
    "rows_accounted",
    "no_duplicates",
    "fx_locked",
    "discrepancy_within_tolerance",
    "variances_explained",
    "approvals",
    "milestones_accepted",
    "invoice_arithmetic",
    "payments_applied",
];

/// A checklist of a client (`client_id` set) or of the agency.
#[derive(Debug, Clone)]
pub struct Checklist {
    pub client_id: Option<String>,
    pub period: crate::model::Period,
    pub steps: Vec<Step>,
}

impl Checklist {
    /// The checklist's result: its worst step (pass when it has none).
    pub fn status(&self) -> StepStatus {
        self.steps
            .iter()
            .map(|s| s.status)
            .max()
            .unwrap_or(StepStatus::Pass)
    }
}

/// `file:line` of a delivery row.
pub fn row_at(data: &PeriodData, row: u32) -> String {
    let origin = data.rows.origin(row);
    Location::line(&data.exports[origin.export()].path, data.line(origin)).file_line()
}

/// A period's rows by the client they belong to (indices into the period's rows).
pub type ClientRows = hashbrown::HashMap<String, Vec<u32>>;

/// The rows of a period that belong to each client, by client id, in one pass: its
/// campaigns' rows and their duplicates.
pub fn rows_by_client(project: &Project, data: &PeriodData) -> ClientRows {
    let owners: hashbrown::HashMap<&str, &str> = project
        .lines
        .iter()
        .filter_map(|l| Some((l.campaign.as_deref()?, l.client_id.as_str())))
        .collect();
    // The clients owning a campaign rows map to, and each campaign's, by its index.
    let mut clients: Vec<&str> = Vec::new();
    let mut slots: hashbrown::HashMap<&str, usize> = hashbrown::HashMap::new();
    let owner: Vec<Option<usize>> = (data.rows.campaigns().iter())
        .map(|campaign| {
            let client = *owners.get(&**campaign)?;
            Some(*slots.entry(client).or_insert_with(|| {
                clients.push(client);
                clients.len() - 1
            }))
        })
        .collect();
    let mut rows = vec![Vec::new(); clients.len()];
    for (index, row) in data.rows.indexed() {
        let original = match row.class {
            RowClass::Duplicate { of } => &data.rows[of],
            _ => row,
        };
        if let RowClass::Mapped { campaign } = original.class
            && let Some(client) = owner[campaign as usize]
        {
            rows[client].push(index);
        }
    }
    // Kept until the bundles are sealed: no room to spare for millions of rows.
    (clients.into_iter().zip(rows))
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(client, mut rows)| {
            rows.shrink_to_fit();
            (client.to_owned(), rows)
        })
        .collect()
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Everything one client's checklist of one period is judged on.
pub struct ClientPeriod<'a> {
    pub project: &'a Project,
    pub data: &'a PeriodData,
    pub books: &'a PeriodBooks,
    pub variances: &'a PeriodVariances,
    pub statement: &'a Statement,
    /// Adjustment ids applied in earlier periods.
    pub applied_before: &'a [String],
    /// The key the bundle is signed with; none for an unsigned preview.
    pub key_id: Option<&'a str>,
    /// The client's rows of the period ([`rows_by_client`]).
    pub rows: &'a [u32],
}

/// The checklist of one client in one period.
pub fn client(cp: &ClientPeriod) -> Checklist {
    let (project, data) = (cp.project, cp.data);
    let client_id = cp.statement.client_id.as_str();
    let invoice = cp.books.invoices.iter().find(|i| i.client_id == client_id);
    let rows = cp.rows;
    let variances: Vec<&Variance> = cp
        .variances
        .variances
        .iter()
        .filter(|v| v.client_id == client_id)
        .collect();
    let lines: Vec<&str> = project
        .lines
        .iter()
        .filter(|l| l.client_id == client_id)
        .map(|l| l.line_id.as_str())
        .collect();
    let single: Vec<&String> = cp
        .variances
        .single_source
        .iter()
        .filter(|l| lines.contains(&l.as_str()))
        .collect();

    let mut steps = vec![
        sources_sealed(data, rows, cp.key_id),
        rows_accounted(data, rows, &cp.books.out_of_flight),
        no_duplicates(data, rows),
        fx_locked(invoice),
        discrepancy(&variances, &single),
        variances_explained(data, &variances),
        approvals(project, data, &lines, client_id, cp.applied_before),
        milestones(data, &lines, invoice),
        invoice_arithmetic(invoice, project.config.invoice.rounding),
        payments_applied(cp.statement),
    ];
    for manual in data.checklist.iter().filter(|s| match &s.client {
        ClientScope::Every => true,
        ClientScope::One(id) => id == client_id,
    }) {
        let (status, summary) = match manual.status {
            ManualStatus::Done => (StepStatus::Pass, "done".to_owned()),
            ManualStatus::Pending => (StepStatus::Warn, "pending".to_owned()),
            ManualStatus::NotApplicable => (StepStatus::Pass, "not applicable".to_owned()),
        };
        let signed = match (&manual.signed_off_by, manual.signed_off_at) {
            (Some(by), Some(at)) => format!(", signed off by {by} on {at}"),
            (Some(by), None) => format!(", signed off by {by}"),
            _ => String::new(),
        };
        steps.push(Step {
            id: manual.step.clone(),
            manual: true,
            status,
            summary: format!("{summary}{signed}"),
            details: vec![manual.at.file_line()],
            not_applicable: manual.status == ManualStatus::NotApplicable,
            owner: manual.owner.clone(),
            signed_off_by: manual.signed_off_by.clone(),
            signed_off_at: manual.signed_off_at.map(|d| d.to_string()),
            evidence: manual.evidence.clone(),
        });
    }
    Checklist {
        client_id: Some(client_id.to_owned()),
        period: data.period,
        steps,
    }
}

/// Every raw export the client's rows come from is hashed, and its slice and proof are
/// listed in the bundle's signed `SHA256SUMS`, as `statement.json` names it. The build
/// lists and signs every file of the bundle, so this fails only in an unsigned preview.
fn sources_sealed(data: &PeriodData, rows: &[u32], key_id: Option<&str>) -> Step {
    let mut used: Vec<usize> = rows.iter().map(|r| data.rows.origin(*r).export()).collect();
    used.sort_unstable();
    used.dedup();
    let details = used
        .iter()
        .map(|e| {
            let export = &data.exports[*e];
            let hex = crate::seal::keys::hex;
            format!(
                "{}: sha256 {}, {} bytes, {} leaves, Merkle root {}",
                crate::error::display_path(&export.path),
                hex(&export.sha256),
                export.size,
                export.leaf_count(),
                hex(&export.tree.root()),
            )
        })
        .collect();
    let exports = plural(used.len(), "raw export");
    let (status, summary) = match (key_id, used.is_empty()) {
        (None, _) => (
            StepStatus::Fail,
            format!("{exports} hashed, but not signed: this is an unsigned preview"),
        ),
        (Some(_), true) => (StepStatus::Pass, "no raw export used".to_owned()),
        (Some(key_id), false) => (
            StepStatus::Pass,
            format!("{exports} hashed and in the manifest signed by key {key_id}"),
        ),
    };
    Step::auto("sources_sealed", status, summary, details)
}

fn rows_accounted(data: &PeriodData, rows: &[u32], out_of_flight: &[u32]) -> Step {
    let outside: Vec<u32> = rows
        .iter()
        .copied()
        // Ascending, as `invoice::bill` lists them.
        .filter(|r| out_of_flight.binary_search(r).is_ok())
        .collect();
    let duplicates = rows
        .iter()
        .filter(|r| matches!(data.rows[**r].class, RowClass::Duplicate { .. }))
        .count();
    let billed = rows.len() - outside.len() - duplicates;
    let details = outside
        .iter()
        .map(|r| {
            format!(
                "{}: campaign id {} on {} is outside every flight",
                row_at(data, *r),
                data.rows.source_campaign_id(&data.rows[*r]),
                data.rows[*r].date
            )
        })
        .collect();
    let summary = format!(
        "{}: {billed} in flight, {} out of flight, {} duplicate",
        plural(rows.len(), "row"),
        outside.len(),
        duplicates
    );
    let status = if outside.is_empty() {
        StepStatus::Pass
    } else {
        StepStatus::Warn
    };
    Step::auto("rows_accounted", status, summary, details)
}

fn no_duplicates(data: &PeriodData, rows: &[u32]) -> Step {
    let details: Vec<String> = rows
        .iter()
        .filter_map(|r| match data.rows[*r].class {
            RowClass::Duplicate { of } => Some(format!(
                "{} repeats {}: counted once",
                row_at(data, *r),
                row_at(data, of)
            )),
            _ => None,
        })
        .collect();
    if details.is_empty() {
        Step::auto(
            "no_duplicates",
            StepStatus::Pass,
            "no duplicate rows",
            details,
        )
    } else {
        Step::auto(
            "no_duplicates",
            StepStatus::Warn,
            format!("{}, counted once", plural(details.len(), "duplicate row")),
            details,
        )
    }
}

fn fx_locked(invoice: Option<&Invoice>) -> Step {
    let mut details: Vec<String> = Vec::new();
    for line in invoice.iter().flat_map(|i| &i.lines) {
        for used in line.fx.iter().chain(&line.spend_fx) {
            let text = format!(
                "{}->{} {} ({}, as of {})",
                used.from, used.to, used.rate, used.source, used.as_of
            );
            if !details.contains(&text) {
                details.push(text);
            }
        }
    }
    let summary = if details.is_empty() {
        "no exchange rate used".to_owned()
    } else {
        format!("{} locked, with source", plural(details.len(), "rate"))
    };
    Step::auto("fx_locked", StepStatus::Pass, summary, details)
}

fn describe(variance: &Variance) -> String {
    let days: Vec<String> = variance.days.iter().map(ToString::to_string).collect();
    let on = if days.is_empty() || days.len() > 5 {
        String::new()
    } else {
        format!(" on {}", days.join(", "))
    };
    format!(
        "{}: {}{on} ({})",
        variance.line_id,
        variance.cause.as_str(),
        variance.summary
    )
}

fn discrepancy(variances: &[&Variance], single_source: &[&String]) -> Step {
    let mut details: Vec<String> = variances
        .iter()
        .filter(|v| v.cause == crate::model::CauseCode::AdServerDiscrepancy)
        .map(|v| describe(v))
        .collect();
    let over = details.len();
    details.extend(
        single_source
            .iter()
            .map(|l| format!("{l}: single source, only one kind of source reported its metric")),
    );
    let status = if details.is_empty() {
        StepStatus::Pass
    } else {
        StepStatus::Warn
    };
    let summary = match (over, single_source.len()) {
        (0, 0) => "platform and ad server within tolerance".to_owned(),
        (0, n) => format!("{} with a single source", plural(n, "line")),
        (n, 0) => format!("{} over tolerance", plural(n, "line")),
        (n, m) => format!(
            "{} over tolerance, {} with a single source",
            plural(n, "line"),
            plural(m, "line")
        ),
    };
    Step::auto("discrepancy_within_tolerance", status, summary, details)
}

fn variances_explained(data: &PeriodData, variances: &[&Variance]) -> Step {
    let unexplained = variances
        .iter()
        .filter(|v| v.explained_by.is_none())
        .count();
    let details = variances
        .iter()
        .map(|v| {
            let how = match &v.explained_by {
                None => "unexplained".to_owned(),
                Some(ExplainedBy::Cap) => "explained by the cap".to_owned(),
                Some(ExplainedBy::Note(i)) => {
                    format!("explained at {}", data.explanations[*i].at.file_line())
                }
                Some(ExplainedBy::Adjustment(id)) => format!("explained by adjustment {id}"),
            };
            format!("{}: {how}", describe(v))
        })
        .collect();
    let (status, summary) = match (variances.len(), unexplained) {
        (0, _) => (StepStatus::Pass, "no variance".to_owned()),
        (n, 0) => (
            StepStatus::Pass,
            format!("{}, all explained", plural(n, "variance")),
        ),
        (_, u) => (
            StepStatus::Fail,
            format!("{} unexplained", plural(u, "variance")),
        ),
    };
    Step::auto("variances_explained", status, summary, details)
}

fn approvals(
    project: &Project,
    data: &PeriodData,
    lines: &[&str],
    client_id: &str,
    applied_before: &[String],
) -> Step {
    let last = data.period.last();
    let mut worst = StepStatus::Pass;
    let mut details = Vec::new();
    let verdict = |status| match status {
        ApprovalStatus::Approved => ("approved", StepStatus::Pass),
        ApprovalStatus::Pending => ("pending, not applied", StepStatus::Warn),
        ApprovalStatus::SeparationOfDuties => (
            "approved by its own requester, not applied",
            StepStatus::Fail,
        ),
    };
    let mut judge = |what: String, (verdict, level): (&str, StepStatus), at: &Location| {
        worst = worst.max(level);
        details.push(format!("{what}: {verdict} ({})", at.file_line()));
    };
    // Change orders of this period's folder, and earlier ones still not approved.
    for earlier in project.periods.iter().filter(|p| p.period <= data.period) {
        for order in earlier
            .change_orders
            .iter()
            .filter(|c| lines.contains(&c.line_id.as_str()))
        {
            let status = order.approval.status(last);
            if earlier.period == data.period || status != ApprovalStatus::Approved {
                judge(
                    format!("change order {} on {}", order.change_id, order.line_id),
                    verdict(status),
                    &order.at,
                );
            }
        }
    }
    for adjustment in data.adjustments.iter().filter(|a| a.client_id == client_id) {
        if applied_before.contains(&adjustment.adjustment_id) {
            let what = format!("adjustment {}", adjustment.adjustment_id);
            judge(
                what,
                (
                    "already applied in an earlier period, not applied again",
                    StepStatus::Warn,
                ),
                &adjustment.at,
            );
            continue;
        }
        judge(
            format!("adjustment {}", adjustment.adjustment_id),
            verdict(adjustment.approval.status(last)),
            &adjustment.at,
        );
    }
    let summary = match worst {
        StepStatus::Pass if details.is_empty() => "no change order or adjustment".to_owned(),
        StepStatus::Pass => "every change order and adjustment applied is approved".to_owned(),
        StepStatus::Warn => "some items are pending and not applied".to_owned(),
        StepStatus::Fail => {
            "separation of duties violated: an item approved by its requester".to_owned()
        }
    };
    Step::auto("approvals", worst, summary, details)
}

fn milestones(data: &PeriodData, lines: &[&str], invoice: Option<&Invoice>) -> Step {
    let billed: Vec<(String, String)> = invoice
        .iter()
        .flat_map(|i| &i.lines)
        .flat_map(|l| {
            l.milestones
                .iter()
                .map(move |m| (l.line_id.clone(), m.milestone_id.clone()))
        })
        .collect();
    let mut details: Vec<String> = Vec::new();
    for line in invoice.iter().flat_map(|i| &i.lines) {
        for m in &line.milestones {
            let by = m.accepted_by.as_deref().unwrap_or_default();
            let on = m.accepted_on.map(|d| d.to_string()).unwrap_or_default();
            details.push(format!(
                "{} {}: billed, accepted by {by} on {on}",
                line.line_id, m.milestone_id
            ));
        }
    }
    let mut pending = 0;
    for m in data
        .milestones
        .iter()
        .filter(|m| lines.contains(&m.line_id.as_str()))
    {
        if billed.contains(&(m.line_id.clone(), m.milestone_id.clone())) {
            continue;
        }
        let why = match (&m.accepted_by, m.accepted_on) {
            (None, _) | (_, None) => "pending acceptance",
            (Some(_), Some(on)) if !data.period.contains(on) => "accepted outside this period",
            _ => "already billed or its line is not active",
        };
        pending += 1;
        details.push(format!(
            "{} {}: not billed, {why} ({})",
            m.line_id,
            m.milestone_id,
            m.at.file_line()
        ));
    }
    let summary = match (billed.len(), pending) {
        (0, 0) => "no milestone".to_owned(),
        (b, 0) => format!("{} billed, each accepted", plural(b, "milestone")),
        (b, p) => format!(
            "{} billed, each accepted; {p} not billed",
            plural(b, "milestone")
        ),
    };
    Step::auto("milestones_accepted", StepStatus::Pass, summary, details)
}

fn invoice_arithmetic(invoice: Option<&Invoice>, rounding: Rounding) -> Step {
    let Some(invoice) = invoice else {
        return Step::auto(
            "invoice_arithmetic",
            StepStatus::Pass,
            "no document this period",
            Vec::new(),
        );
    };
    let lines: Decimal = invoice.lines.iter().map(|l| l.net).sum();
    let adjustments: Decimal = invoice.adjustments.iter().map(|a| a.net).sum();
    let subtotal = lines + adjustments;
    let tax = match invoice.tax_treatment {
        TaxTreatment::Standard { rate } => {
            rounding.round(subtotal * rate / Decimal::ONE_HUNDRED, invoice.currency)
        }
        _ => Decimal::ZERO,
    };
    let details = vec![
        format!(
            "lines {lines} + adjustments {adjustments} = subtotal {subtotal} (invoice: {})",
            invoice.subtotal
        ),
        format!("tax {tax} (invoice: {})", invoice.tax),
        format!(
            "subtotal + tax = {} (invoice: {})",
            subtotal + tax,
            invoice.total
        ),
    ];
    let ok = subtotal == invoice.subtotal && tax == invoice.tax && subtotal + tax == invoice.total;
    let (status, summary) = if ok {
        (
            StepStatus::Pass,
            format!("{} re-adds exactly", invoice.number),
        )
    } else {
        (
            StepStatus::Fail,
            format!("{} does not re-add", invoice.number),
        )
    };
    Step::auto("invoice_arithmetic", status, summary, details)
}

fn payments_applied(statement: &Statement) -> Step {
    let mut ok = true;
    let details = statement
        .payments
        .iter()
        .map(|p| {
            let applied: Decimal = p.applied.iter().map(|a| a.amount).sum();
            ok &= applied + p.to_credit == p.amount;
            let to: Vec<String> = p
                .applied
                .iter()
                .map(|a| format!("{} to {}", a.amount, a.number))
                .collect();
            let to = if to.is_empty() {
                "nothing applied".to_owned()
            } else {
                to.join(", ")
            };
            format!(
                "{} of {} received {}: {to}; {} to account credit",
                p.payment_id, p.amount, p.received_on, p.to_credit
            )
        })
        .collect();
    let (status, summary) = match (statement.payments.len(), ok) {
        (0, _) => (StepStatus::Pass, "no payment this period".to_owned()),
        (n, true) => (
            StepStatus::Pass,
            format!("{} applied or held as account credit", plural(n, "payment")),
        ),
        (_, false) => (
            StepStatus::Fail,
            "a payment is not fully accounted for".to_owned(),
        ),
    };
    Step::auto("payments_applied", status, summary, details)
}

/// The agency's checklist of a period: each automatic step over every client (the worst
/// status, details prefixed with the client), plus `rows_mapped` after `rows_accounted`.
pub fn agency(data: &PeriodData, clients: &[Checklist]) -> Checklist {
    let mut steps = Vec::new();
    for id in AUTOMATIC {
        let mut status = StepStatus::Pass;
        let mut details = Vec::new();
        let mut flagged = Vec::new();
        for checklist in clients {
            let client_id = checklist.client_id.as_deref().unwrap_or_default();
            if let Some(step) = checklist.steps.iter().find(|s| s.id == id && !s.manual) {
                status = status.max(step.status);
                if step.status != StepStatus::Pass {
                    flagged.push(format!("{client_id} ({})", step.status.as_str()));
                    details.extend(step.details.iter().map(|d| format!("{client_id}: {d}")));
                }
            }
        }
        let summary = flagged_summary(&flagged, clients.len());
        steps.push(Step::auto(id, status, summary, details));
        if id == "rows_accounted" {
            steps.push(rows_mapped(data));
        }
    }
    Checklist {
        client_id: None,
        period: data.period,
        steps,
    }
}

/// Clients the agency's step names in its summary; the rest are counted (each client's
/// details follow, prefixed with its id).
const NAMED_CLIENTS: usize = 10;

/// The summary of an agency step: every client passes, or the clients that do not,
/// each with its status, the first [`NAMED_CLIENTS`] named and the rest counted.
fn flagged_summary(flagged: &[String], clients: usize) -> String {
    match flagged.len() {
        0 => format!("{clients} clients pass"),
        n if n <= NAMED_CLIENTS => flagged.join(", "),
        n => format!(
            "{n} of {clients} clients: {}, and {} more (in the details)",
            flagged[..NAMED_CLIENTS].join(", "),
            n - NAMED_CLIENTS
        ),
    }
}

fn rows_mapped(data: &PeriodData) -> Step {
    let details: Vec<String> = (data.rows.indexed())
        .filter(|(_, row)| row.class == RowClass::Unmapped)
        .map(|(r, row)| {
            format!(
                "{}: campaign id {} is not in crosswalk.csv",
                row_at(data, r),
                data.rows.source_campaign_id(row)
            )
        })
        .collect();
    if details.is_empty() {
        Step::auto(
            "rows_mapped",
            StepStatus::Pass,
            "every delivery row is mapped",
            details,
        )
    } else {
        Step::auto(
            "rows_mapped",
            StepStatus::Fail,
            format!("{} unmapped, never billed", plural(details.len(), "row")),
            details,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agency_step_names_ten_flagged_clients_and_counts_the_rest() {
        let flagged =
            |n: usize| -> Vec<String> { (1..=n).map(|i| format!("c{i} (warn)")).collect() };
        assert_eq!(flagged_summary(&[], 3), "3 clients pass");
        assert_eq!(flagged_summary(&flagged(2), 3), "c1 (warn), c2 (warn)");
        assert_eq!(
            flagged_summary(&flagged(10), 12).matches("(warn)").count(),
            10
        );
        let many = flagged_summary(&flagged(500), 500);
        assert!(
            many.starts_with("500 of 500 clients: c1 (warn), c2 (warn), "),
            "{many}"
        );
        assert!(
            many.ends_with("c10 (warn), and 490 more (in the details)"),
            "{many}"
        );
        assert!(!many.contains("c11 "), "{many}");
    }
}
