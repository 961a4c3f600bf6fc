//! One invoice line: a line's gross in a period by its pricing model (rules.md §3), its
//! segments, the cap (§4) and the net in the invoice currency (§5), with the evidence
//! behind every number.

use super::{BillingError, FxUse, History};
use crate::model::{
    Currency, Exact, Metric, Milestone, Period, PeriodData, PricingModel, Project, Rounding,
    SourceKind, sum,
};
use crate::reconcile::{CampaignRows, DayUnits, LockedRates, Terms, units_by_day};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One day of a line's flight in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayBill {
    pub date: NaiveDate,
    pub rate: Decimal,
    /// Units, hours or media spend (contract currency, unrounded) billed that day.
    pub quantity: Decimal,
    /// `quantity × rate` (per 1,000 for cpm, per 100 for media_pct), exact.
    pub amount: Decimal,
    /// For cpm/cpc/cpa: what the basis kind and the other kind reported.
    pub units: DayUnits,
}

/// A maximal run of consecutive flight days with one rate (rules.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// Exact, unrounded.
    pub amount: Decimal,
}

/// The cap arithmetic of rules.md §4, in contract currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cap {
    /// `g = round(gross)`.
    pub gross: Decimal,
    /// The budget in force at the period's last day.
    pub budget: Option<Decimal>,
    /// Σ billed in earlier periods.
    pub billed_before: Decimal,
    /// `budget − billed_before` (`None` without a budget).
    pub remaining: Option<Decimal>,
    /// `max(0, min(g, remaining))`, or `g` without a budget.
    pub billed: Decimal,
    /// `g − billed`: over-delivery, not billed.
    pub over: Decimal,
}

/// One invoice line and its evidence.
#[derive(Debug, Clone)]
pub struct LineBill {
    pub line_id: String,
    pub description: String,
    pub model: PricingModel,
    pub po_number: Option<String>,
    /// Contract currency.
    pub currency: Currency,
    /// First and last day of flight(P).
    pub flight: (NaiveDate, NaiveDate),
    /// Units, hours, days, milestones or media spend (rules.md §3).
    pub quantity: Decimal,
    /// The rate in force on the last day of flight(P); a percent for media_pct; `None`
    /// for milestone lines.
    pub unit_price: Option<Decimal>,
    /// Exact gross, unrounded.
    pub gross_exact: Decimal,
    pub cap: Cap,
    /// Contract → invoice rate, when the currencies differ.
    pub fx: Option<FxUse>,
    /// In invoice currency.
    pub net: Decimal,
    /// The flight days of the period, for models billed day by day.
    pub days: Vec<DayBill>,
    /// Runs of one rate; shown when there are two or more.
    pub segments: Vec<Segment>,
    /// Change orders in force for the line in the period.
    pub change_orders: Vec<String>,
    /// The campaign's rows on flight days of the line (indices into the period's rows).
    pub rows: Vec<u32>,
    /// The campaign's rows outside the flight of every line of the campaign.
    pub out_of_flight: Vec<u32>,
    /// Media spend conversions (media_pct).
    pub spend_fx: Vec<FxUse>,
    /// Milestones billed on the line in the period.
    pub milestones: Vec<Milestone>,
    /// Timesheet entries billed (indices into the period's timesheets).
    pub timesheets: Vec<usize>,
}

impl LineBill {
    /// Whether the line shows its segments (more than one rate applied in the period).
    pub fn has_segments(&self) -> bool {
        self.segments.len() > 1
    }
}

/// Everything one period's lines are computed against.
pub struct LineContext<'a> {
    pub project: &'a Project,
    pub data: &'a PeriodData,
    pub rows: &'a CampaignRows<'a>,
    pub fx: &'a LockedRates<'a>,
    pub invoice_currency: Currency,
    pub rounding: Rounding,
}

impl LineContext<'_> {
    fn period(&self) -> Period {
        self.data.period
    }

    fn rate(&self, from: Currency, to: Currency, line_id: &str) -> Result<FxUse, BillingError> {
        let locked = self
            .fx
            .get(from, to)
            .ok_or_else(|| BillingError::MissingRate {
                period: self.period(),
                from,
                to,
                line_id: line_id.to_owned(),
            })?;
        Ok(FxUse {
            from,
            to,
            rate: locked.rate,
            source: locked.source.clone(),
            as_of: locked.as_of,
        })
    }
}

/// Bills one line active in the period.
pub fn bill(
    ctx: &LineContext,
    terms: &Terms,
    history: &History,
) -> Result<Option<LineBill>, BillingError> {
    let line = terms.line;
    let Some(flight) = terms.flight() else {
        return Ok(None);
    };
    let overflow = |_| BillingError::Overflow {
        period: ctx.period(),
        line_id: line.line_id.clone(),
    };
    let mut bill = LineBill {
        line_id: line.line_id.clone(),
        description: line.description.clone(),
        model: line.model,
        po_number: line.po_number.clone(),
        currency: line.currency,
        flight,
        quantity: Decimal::ZERO,
        unit_price: terms.rate_on(flight.1),
        gross_exact: Decimal::ZERO,
        cap: Cap {
            gross: Decimal::ZERO,
            budget: None,
            billed_before: Decimal::ZERO,
            remaining: None,
            billed: Decimal::ZERO,
            over: Decimal::ZERO,
        },
        fx: None,
        net: Decimal::ZERO,
        days: Vec::new(),
        segments: Vec::new(),
        change_orders: terms.changes.iter().map(|c| c.change_id.clone()).collect(),
        rows: Vec::new(),
        out_of_flight: Vec::new(),
        spend_fx: Vec::new(),
        milestones: Vec::new(),
        timesheets: Vec::new(),
    };
    let campaign = line.campaign.as_deref();
    // `Terms::covers`, with the flight found once rather than for each row.
    let covers = |day| flight.0 <= day && day <= flight.1;
    let mut campaign_rows: Vec<u32> = match campaign {
        Some(campaign) => ctx
            .rows
            .rows(campaign)
            .iter()
            .copied()
            .filter(|i| covers(ctx.rows.row(*i).date))
            .collect(),
        None => Vec::new(),
    };
    // Kept with the line until it is rendered: no room to spare for millions of rows.
    campaign_rows.shrink_to_fit();
    // What the campaign's rows add up to, day by day: billing reads sums, not rows.
    let sums = campaign.map_or(&[][..], |c| ctx.rows.days(c));
    // Models billed day by day: the quantity of each day, and what a rate is per.
    let mut per_day: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
    let mut units: BTreeMap<NaiveDate, DayUnits> = BTreeMap::new();
    let per = match line.model {
        PricingModel::Cpm | PricingModel::Cpc | PricingModel::Cpa => {
            let (metric, per) = match line.model {
                PricingModel::Cpm => (Metric::Impressions, Decimal::ONE_THOUSAND),
                PricingModel::Cpc => (Metric::Clicks, Decimal::ONE),
                _ => (Metric::Conversions, Decimal::ONE),
            };
            let basis = line.basis.unwrap_or(SourceKind::AdServer);
            let sources = &ctx.project.config.sources;
            let covered = |day| terms.covers(day);
            units = units_by_day(sums, covered, metric, basis, sources).map_err(overflow)?;
            per_day = units
                .iter()
                .map(|(day, u)| (*day, u.basis.unwrap_or_default()))
                .collect();
            bill.rows = campaign_rows;
            Some(per)
        }
        PricingModel::MediaPct => {
            // In the order the rows first reported spend: rates are listed as first used.
            for sum in sums.iter().filter(|sum| terms.covers(sum.date)) {
                if ctx.project.config.sources[usize::from(sum.source)].kind != SourceKind::Platform
                {
                    continue;
                }
                let spend = sum.totals.get(Metric::Spend).map_err(overflow)?;
                let (Some(spend), Some(currency)) = (spend, sum.currency) else {
                    continue;
                };
                let fx = if currency == line.currency {
                    Decimal::ONE
                } else {
                    let used = ctx.rate(currency, line.currency, &line.line_id)?;
                    let rate = used.rate;
                    if !bill.spend_fx.contains(&used) {
                        bill.spend_fx.push(used);
                    }
                    rate
                };
                let day = per_day.entry(sum.date).or_default();
                *day = spend
                    .times(fx)
                    .and_then(|converted| day.plus(converted))
                    .map_err(overflow)?;
            }
            bill.rows = campaign_rows;
            Some(Decimal::ONE_HUNDRED)
        }
        PricingModel::Hourly => {
            for (index, entry) in ctx.data.timesheets.iter().enumerate() {
                if entry.line_id == line.line_id && terms.covers(entry.date) {
                    let day = per_day.entry(entry.date).or_default();
                    *day = day.plus(entry.hours).map_err(overflow)?;
                    bill.timesheets.push(index);
                }
            }
            Some(Decimal::ONE)
        }
        PricingModel::Flat => {
            // rate × |flight(P)| / days(P), with the rate in force on the flight's last day.
            let days = Decimal::from((flight.1 - flight.0).num_days() + 1);
            let rate = bill.unit_price.unwrap_or_default();
            bill.quantity = days;
            bill.gross_exact = rate
                .times(days)
                .and_then(|x| x.over(Decimal::from(ctx.period().days())))
                .map_err(overflow)?;
            None
        }
        PricingModel::Milestone => {
            bill.unit_price = None;
            for milestone in ctx
                .data
                .milestones
                .iter()
                .filter(|m| m.line_id == line.line_id)
            {
                let accepted = milestone.accepted_by.is_some()
                    && milestone
                        .accepted_on
                        .is_some_and(|d| ctx.period().contains(d));
                if accepted && !history.milestone_billed(&line.line_id, &milestone.milestone_id) {
                    bill.milestones.push(milestone.clone());
                }
            }
            bill.quantity = Decimal::from(bill.milestones.len());
            bill.gross_exact = sum(bill.milestones.iter().map(|m| m.amount)).map_err(overflow)?;
            None
        }
    };
    if let Some(per) = per {
        for date in terms.days() {
            let rate = terms.rate_on(date).unwrap_or_default();
            let quantity = per_day.get(&date).copied().unwrap_or_default();
            let amount = quantity
                .times(rate)
                .and_then(|x| x.over(per))
                .map_err(overflow)?;
            let units = units.get(&date).copied().unwrap_or_default();
            bill.days.push(DayBill {
                date,
                rate,
                quantity,
                amount,
                units,
            });
        }
    }
    if !bill.days.is_empty() {
        bill.gross_exact = sum(bill.days.iter().map(|d| d.amount)).map_err(overflow)?;
        let quantity = sum(bill.days.iter().map(|d| d.quantity)).map_err(overflow)?;
        // media_pct: the spend in contract currency, rounded once to its minor units.
        bill.quantity = if line.model == PricingModel::MediaPct {
            ctx.rounding.round(quantity, line.currency)
        } else {
            quantity
        };
        bill.segments = segments(&bill.days).map_err(overflow)?;
    }

    // §4: the cap, in contract currency.
    let gross = ctx.rounding.round(bill.gross_exact, line.currency);
    let budget = terms.budget();
    let billed_before = history.billed(&line.line_id);
    let remaining = budget.map(|b| b - billed_before);
    let billed = match remaining {
        Some(remaining) => gross.min(remaining).max(Decimal::ZERO),
        None => gross,
    };
    bill.cap = Cap {
        gross,
        budget,
        billed_before,
        remaining,
        billed,
        over: gross - billed,
    };

    // §5: the net, in invoice currency.
    bill.net = if line.currency == ctx.invoice_currency {
        billed
    } else {
        let used = ctx.rate(line.currency, ctx.invoice_currency, &line.line_id)?;
        let net = ctx.rounding.round(
            billed.times(used.rate).map_err(overflow)?,
            ctx.invoice_currency,
        );
        bill.fx = Some(used);
        net
    };
    Ok(Some(bill))
}

/// The maximal runs of consecutive days with one rate.
fn segments(days: &[DayBill]) -> Result<Vec<Segment>, crate::model::Overflow> {
    let mut runs: Vec<Segment> = Vec::new();
    for day in days {
        match runs.last_mut() {
            Some(run) if run.unit_price == day.rate => {
                run.to = day.date;
                run.quantity = run.quantity.plus(day.quantity)?;
                run.amount = run.amount.plus(day.amount)?;
            }
            _ => runs.push(Segment {
                from: day.date,
                to: day.date,
                quantity: day.quantity,
                unit_price: day.rate,
                amount: day.amount,
            }),
        }
    }
    Ok(runs)
}
