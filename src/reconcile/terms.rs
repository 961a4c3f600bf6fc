//! A line's terms in force when a period is computed (rules.md §1–§3): the approved
//! change orders listed in that period's folder or an earlier one, applied in order of
//! `(effective_from, change_id)`, the last of each field winning.

use crate::model::{ChangeOrder, Line, Period, PeriodData};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// One line's terms for one period.
#[derive(Debug, Clone)]
pub struct Terms<'a> {
    pub line: &'a Line,
    pub period: Period,
    /// The approved change orders of the line, in `(effective_from, change_id)` order.
    pub changes: Vec<&'a ChangeOrder>,
}

impl<'a> Terms<'a> {
    /// The terms of `line` when `period` is computed; `periods` are all the project's
    /// periods (only those up to `period` count).
    pub fn of(line: &'a Line, period: Period, periods: &'a [PeriodData]) -> Terms<'a> {
        let mut changes: Vec<&ChangeOrder> = periods
            .iter()
            .filter(|p| p.period <= period)
            .flat_map(|p| &p.change_orders)
            .filter(|c| c.line_id == line.line_id && period.approves(&c.approval))
            .collect();
        changes.sort_by(|a, b| {
            (a.effective_from, &a.change_id).cmp(&(b.effective_from, &b.change_id))
        });
        Terms {
            line,
            period,
            changes,
        }
    }

    /// The changes in force on `day`.
    fn in_force(&self, day: NaiveDate) -> impl Iterator<Item = &&'a ChangeOrder> {
        self.changes.iter().filter(move |c| c.effective_from <= day)
    }

    /// `rate(d)`: the booked rate after every approved change with `effective_from <= d`.
    pub fn rate_on(&self, day: NaiveDate) -> Option<Decimal> {
        self.in_force(day)
            .filter_map(|c| c.rate)
            .last()
            .or(self.line.rate)
    }

    /// The budget in force at the period's last day (`None`: no cap).
    pub fn budget(&self) -> Option<Decimal> {
        self.in_force(self.period.last())
            .filter_map(|c| c.budget)
            .last()
            .or(self.line.budget)
    }

    /// The flight's last day in force at the period's last day.
    pub fn end(&self) -> NaiveDate {
        self.in_force(self.period.last())
            .filter_map(|c| c.end)
            .last()
            .unwrap_or(self.line.end)
    }

    /// `flight(P)`: the first and last day of the period inside the flight, or `None`
    /// when the line is not active in the period.
    pub fn flight(&self) -> Option<(NaiveDate, NaiveDate)> {
        let first = self.line.start.max(self.period.first());
        let last = self.end().min(self.period.last());
        (first <= last).then_some((first, last))
    }

    /// Every day of `flight(P)`, in order.
    pub fn days(&self) -> Vec<NaiveDate> {
        match self.flight() {
            Some((first, last)) => first.iter_days().take_while(|d| *d <= last).collect(),
            None => Vec::new(),
        }
    }

    pub fn covers(&self, day: NaiveDate) -> bool {
        self.flight()
            .is_some_and(|(first, last)| first <= day && day <= last)
    }
}
