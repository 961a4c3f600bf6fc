//! Variances and tolerances (rules.md §10): for each active line of a period, what
//! differs from what was expected, on which days and rows, and whether a person (or the
//! rules themselves) explained it.

use crate::invoice::{Invoice, LineBill, PeriodBooks};
use crate::model::{CauseCode, PeriodData, PricingModel, Project, Tolerances};
use crate::reconcile::LockedRates;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// What explains a variance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExplainedBy {
    /// A `variances.csv` row of the period (index into the period's explanations).
    Note(usize),
    /// An adjustment applied in the period on the line with that reason.
    Adjustment(String),
    /// `over_delivery` explains itself: the cap.
    Cap,
}

/// One variance of one line in one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variance {
    pub client_id: String,
    pub line_id: String,
    pub cause: CauseCode,
    /// One line in words and numbers.
    pub summary: String,
    /// The days concerned (empty when the variance is about the whole period).
    pub days: Vec<NaiveDate>,
    /// The delivery rows concerned (indices into the period's rows).
    pub rows: Vec<u32>,
    pub explained_by: Option<ExplainedBy>,
}

/// The variances of a period, and the lines reported by one kind of source only.
#[derive(Debug, Clone, Default)]
pub struct PeriodVariances {
    pub variances: Vec<Variance>,
    /// cpm/cpc/cpa lines whose metric only one kind of source reported: warn, and no
    /// outage check.
    pub single_source: Vec<String>,
}

/// `|a − b| / b × 100`, or `None` when `b` is 0.
pub fn percent_change(a: Decimal, b: Decimal) -> Option<Decimal> {
    if b.is_zero() {
        return None;
    }
    (a - b)
        .abs()
        .checked_div(b.abs())?
        .checked_mul(Decimal::ONE_HUNDRED)
}

/// Computes the variances of period `index` of the project from its books.
pub fn compute(project: &Project, books: &[PeriodBooks], index: usize) -> PeriodVariances {
    let data = &project.periods[index];
    let previous = index
        .checked_sub(1)
        .filter(|p| project.periods[*p].period.next() == data.period)
        .map(|p| (&project.periods[p], &books[p]));
    let mut found = PeriodVariances::default();
    for invoice in &books[index].invoices {
        for line in &invoice.lines {
            line_variances(project, data, previous, invoice, line, &mut found);
        }
    }
    for variance in &mut found.variances {
        variance.explained_by = explanation(data, books[index].invoices.iter(), variance);
    }
    found
}

fn line_variances(
    project: &Project,
    data: &PeriodData,
    previous: Option<(&PeriodData, &PeriodBooks)>,
    invoice: &Invoice,
    line: &LineBill,
    found: &mut PeriodVariances,
) {
    let tolerances: &Tolerances = &project.config.tolerances;
    let mut add = |cause, summary: String, days: Vec<NaiveDate>| {
        let rows = line
            .rows
            .iter()
            .copied()
            .filter(|r| days.contains(&data.rows[*r].date))
            .collect();
        found.variances.push(Variance {
            client_id: invoice.client_id.clone(),
            line_id: line.line_id.clone(),
            cause,
            summary,
            days,
            rows,
            explained_by: None,
        });
    };

    if matches!(
        line.model,
        PricingModel::Cpm | PricingModel::Cpc | PricingModel::Cpa
    ) {
        let basis_reported = line.days.iter().any(|d| d.units.basis.is_some());
        let other_reported = line.days.iter().any(|d| d.units.other.is_some());
        if basis_reported && other_reported {
            let basis: Decimal = line.days.iter().filter_map(|d| d.units.basis).sum();
            let other: Decimal = line.days.iter().filter_map(|d| d.units.other).sum();
            let over = |b: Decimal, o: Decimal| match percent_change(o, b) {
                Some(pct) => pct > tolerances.discrepancy_pct,
                None => o > Decimal::ZERO,
            };
            if over(basis, other) {
                let pct = percent_change(other, basis).map_or("no basis units".to_owned(), |p| {
                    format!("{}%", p.round_dp(1))
                });
                let days = line
                    .days
                    .iter()
                    .filter(|d| {
                        over(
                            d.units.basis.unwrap_or_default(),
                            d.units.other.unwrap_or_default(),
                        )
                    })
                    .map(|d| d.date)
                    .collect();
                let kind = project
                    .line(&line.line_id)
                    .and_then(|l| l.basis)
                    .unwrap_or(crate::model::SourceKind::AdServer);
                let summary = format!(
                    "{} {basis} (billed) vs {} {other}: {pct} apart, tolerance {}%",
                    kind.as_str().replace('_', " "),
                    kind.other().as_str().replace('_', " "),
                    tolerances.discrepancy_pct
                );
                add(CauseCode::AdServerDiscrepancy, summary, days);
            }
            let outage: Vec<NaiveDate> = line
                .days
                .iter()
                .filter(|d| {
                    let (b, o) = (
                        d.units.basis.unwrap_or_default(),
                        d.units.other.unwrap_or_default(),
                    );
                    (b > Decimal::ZERO && o.is_zero()) || (o > Decimal::ZERO && b.is_zero())
                })
                .map(|d| d.date)
                .collect();
            if !outage.is_empty() {
                let list: Vec<String> = outage.iter().map(ToString::to_string).collect();
                add(
                    CauseCode::TrackingOutage,
                    format!("one kind of source reported nothing on {}", list.join(", ")),
                    outage,
                );
            }
        } else if basis_reported || other_reported {
            found.single_source.push(line.line_id.clone());
        }
    }

    if line.cap.over > Decimal::ZERO {
        let summary = format!(
            "{} over the budget of {}, not billed",
            line.cap.over,
            line.cap.budget.unwrap_or_default()
        );
        add(CauseCode::OverDelivery, summary, Vec::new());
    }

    let Some(terms_line) = project.line(&line.line_id) else {
        return;
    };
    let terms = crate::reconcile::Terms::of(terms_line, data.period, &project.periods);
    if let Some(budget) = line
        .cap
        .budget
        .filter(|_| data.period.contains(terms.end()))
    {
        let lifetime = line.cap.billed_before + line.cap.billed;
        let floor =
            budget * (Decimal::ONE_HUNDRED - tolerances.underdelivery_pct) / Decimal::ONE_HUNDRED;
        if lifetime < floor {
            let summary = format!(
                "flight ended {}: {lifetime} billed over its life, below {floor} ({}% under the budget of {budget})",
                terms.end(),
                tolerances.underdelivery_pct
            );
            add(CauseCode::UnderDelivery, summary, Vec::new());
        }
    }

    if let Some((previous_data, previous_books)) = previous {
        let previous_net = previous_books
            .invoices
            .iter()
            .flat_map(|i| &i.lines)
            .find(|l| l.line_id == line.line_id)
            .map(|l| l.net)
            .filter(|net| *net > Decimal::ZERO);
        let change = previous_net.and_then(|prev| Some((prev, percent_change(line.net, prev)?)));
        if let Some((net_prev, pct)) = change.filter(|(_, p)| *p > tolerances.prior_period_pct) {
            let summary = format!(
                "net {} against {net_prev} in {}: {}% change, tolerance {}%",
                line.net,
                previous_data.period,
                pct.round_dp(1),
                tolerances.prior_period_pct
            );
            add(CauseCode::PriorPeriodChange, summary, Vec::new());
        }
        let locked_before = LockedRates::of(previous_data);
        let mut moved = Vec::new();
        for used in line.fx.iter().chain(&line.spend_fx) {
            let before = locked_before.get(used.from, used.to);
            let change = before.and_then(|b| Some((b, percent_change(used.rate, b.rate)?)));
            if let Some((before, pct)) = change.filter(|(_, p)| *p > tolerances.fx_movement_pct) {
                let (from, to, rate) = (used.from, used.to, used.rate);
                moved.push(format!(
                    "{from}->{to} {} -> {rate} ({}%)",
                    before.rate,
                    pct.round_dp(1)
                ));
            }
        }
        if !moved.is_empty() {
            let summary = format!(
                "locked rate moved since {}: {}, tolerance {}%",
                previous_data.period,
                moved.join("; "),
                tolerances.fx_movement_pct
            );
            add(CauseCode::FxMovement, summary, Vec::new());
        }
    }
}

/// A `variances.csv` row of the period for the same client, line and cause, or an
/// adjustment applied in the period on the line with that reason; over-delivery
/// explains itself.
fn explanation<'a>(
    data: &PeriodData,
    mut invoices: impl Iterator<Item = &'a Invoice>,
    variance: &Variance,
) -> Option<ExplainedBy> {
    if variance.cause == CauseCode::OverDelivery {
        return Some(ExplainedBy::Cap);
    }
    let note = data.explanations.iter().position(|e| {
        e.client_id == variance.client_id
            && e.line_id == variance.line_id
            && e.cause == variance.cause
    });
    if let Some(index) = note {
        return Some(ExplainedBy::Note(index));
    }
    invoices
        .find(|i| i.client_id == variance.client_id)
        .and_then(|i| {
            i.adjustments.iter().find(|a| {
                a.line_id.as_deref() == Some(&variance.line_id) && a.reason == variance.cause
            })
        })
        .map(|a| ExplainedBy::Adjustment(a.adjustment_id.clone()))
}
